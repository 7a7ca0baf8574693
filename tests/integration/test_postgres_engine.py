"""PostgreSQL connections plan every statement for its own arguments: a generic plan of the
batch statements (``= ANY(:ids)``) once scanned all of ``events`` on every append."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shared.eventstore import pg_append
from shared.persistence.engine import create_engine

pytestmark = pytest.mark.integration


async def test_prepared_statements_are_never_given_a_generic_plan(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            mode = await connection.scalar(sa.text("SHOW plan_cache_mode"))
    finally:
        await engine.dispose()
    assert mode == "force_custom_plan"


async def test_the_appends_lookup_of_stream_ends_walks_the_index_before_any_statistics(
    postgres_url: str,
) -> None:
    """Without statistics the planner guessed that a thousand streams match half of ``events``
    and scanned it all on every append, slower the more events there were."""
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
            streams = [f"plan-{n}" for n in range(1, 1001)]
            explained = await connection.execute(
                sa.text(f"EXPLAIN {pg_append._STORED_AND_ENDS.text}"),
                {"event_ids": streams, "stream_ids": streams},
            )
            plan = "\n".join(row[0] for row in explained)
            known, ends = await pg_append.stored_and_ends(connection, streams, streams)
            await connection.rollback()
    finally:
        await engine.dispose()

    assert "Index Only Scan Backward using uq_events_stream_version" in plan, plan
    assert (len(known), len(ends), ends["plan-7"]) == (1000, 1000, 1)
