"""PostgreSQL connections plan every statement for its own arguments, and the append's plan
walks indexes: a generic plan of the batch statements (``= ANY(:ids)``) once scanned all of
``events`` on every append. Statements that stand alone are sent without a transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic_core import to_json
from sqlalchemy import event

from shared.contracts.recorded import EventMetadata, NewEvent
from shared.eventstore import pg_append
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine, create_read_engine

pytestmark = pytest.mark.integration


async def test_prepared_statements_are_never_given_a_generic_plan(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            mode = await connection.scalar(sa.text("SHOW plan_cache_mode"))
    finally:
        await engine.dispose()
    assert mode == "force_custom_plan"


async def test_the_query_apis_engine_runs_each_statement_alone_with_cached_plans(
    postgres_url: str,
) -> None:
    """Its queries are single statements; planning each anew cost more than answering it, and
    the BEGIN and ROLLBACK around each were two more round trips."""
    engine = create_read_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            mode = await connection.scalar(sa.text("SHOW plan_cache_mode"))
            transactions = [
                await connection.scalar(sa.text("SELECT txid_current()")) for _ in range(2)
            ]
    finally:
        await engine.dispose()
    assert mode == "auto"
    assert transactions[0] != transactions[1]


async def test_the_event_stores_reads_run_each_query_alone(postgres_url: str) -> None:
    """Every batch of ingest and of the projector asks a few one-query reads; the BEGIN and
    ROLLBACK around each were two more round trips and a quarter of the read's client CPU."""
    engine = create_engine(postgres_url)
    in_transaction: list[bool] = []

    def after_query(connection: Any, *_: Any) -> None:
        in_transaction.append(connection.connection.driver_connection.is_in_transaction())

    event.listen(engine.sync_engine, "after_cursor_execute", after_query)
    store = SqlEventStore(engine)
    try:
        await store.known_event_ids(["read-alone"])
        await store.read_streams(["read-alone"])
        await store.read_stream("read-alone", limit=10)
        await store.last_position()
        await store.outbox_backlog()
    finally:
        await engine.dispose()
    assert in_transaction == [False] * 5


async def test_the_append_probes_the_indexes_for_each_event_before_any_statistics(
    postgres_url: str,
) -> None:
    """Planned as joins on a guess about the batch's rows, the append scanned all of ``events``
    for stored ids (or, with two statements before it, for stream ends) on every batch, slower
    the more events there were."""
    engine = create_engine(postgres_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                sa.text(
                    "INSERT INTO events (stream_id, stream_version, event_id, type, "
                    "schema_version, occurred_at, recorded_at, data, metadata) "
                    "SELECT 'plan-' || n, 1, 'plan-' || n, 'initiative.approved', 1, now(), "
                    "now(), '{}'::jsonb, '{}'::jsonb FROM generate_series(1, 20000) AS n"
                )
            )
            batch = [
                NewEvent(
                    stream_id=f"plan-{n}",
                    event_id=f"plan-{n}" if n <= 500 else f"new-{n}",
                    type="initiative.approved",
                    schema_version=1,
                    occurred_at=dt.datetime(2022, 5, 12, tzinfo=dt.UTC),
                    data={},
                    metadata=EventMetadata(source="test"),
                )
                for n in range(1, 1001)
            ]
            explained = await connection.execute(
                sa.text(f"EXPLAIN {pg_append.APPEND.text}"),
                {
                    "batch": to_json(batch).decode(),
                    "expected": "{}",
                    "recorded_at": dt.datetime.now(dt.UTC),
                    "outbox": True,
                },
            )
            plan = "\n".join(row[0] for row in explained)
            appended = await pg_append.append(
                connection, batch, None, dt.datetime.now(dt.UTC), outbox=True
            )
            await connection.rollback()
    finally:
        await engine.dispose()

    assert "Index Only Scan using uq_events_event_id" in plan, plan
    assert "Index Only Scan Backward using uq_events_stream_version" in plan, plan
    assert "Seq Scan on events" not in plan, plan
    assert len(appended) == 500
    assert appended["new-700"][1] == 2
