"""Rebuild every read model from the event store, then swap the new tables in atomically.

The replay writes into shadow tables of the same names in another schema (PostgreSQL) or
an attached database file (SQLite), through SQLAlchemy's ``schema_translate_map``, so the
projection code is the same. Readers keep using the live tables until the swap, which is
one transaction (on PostgreSQL the BI views are dropped and re-created inside it, since they
depend on the tables). An interrupted rebuild resumes from the shadow's own checkpoint; progress
changes produced by the replay stay in the shadow and are dropped: a rebuild notifies no one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector.metrics import ProjectorMetrics
from services.projector.projection import Projection
from services.projector.tailer import CHECKPOINT, StoreTailer
from shared.contracts.recorded import RecordedEvent
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine, is_sqlite
from shared.persistence.migrations import ensure_migrated
from shared.persistence.schema import metadata, progress_outbox
from shared.persistence.views import CREATE_VIEWS, DROP_VIEWS

SHADOW = "rm_rebuild"
READ_MODELS = [table for name, table in metadata.tables.items() if name.startswith("rm_")]
FINAL_PASS_MARGIN = 100_000
"""Positions re-read in the swap transaction: events that were still being committed when
the replay passed them have lower positions than events already read (dedupe skips the
rest)."""

Progress = Callable[[int, int], None]
"""Called with (events read so far, events to read in all)."""


@dataclass(frozen=True)
class RebuildReport:
    events: int
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def _shadow_engine(url: str) -> AsyncEngine:
    engine = create_engine(url)
    if is_sqlite(url):
        shadow_file = f"{make_url(url).database}.rebuild"

        def attach(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute(f"ATTACH DATABASE '{shadow_file}' AS {SHADOW}")

        event.listen(engine.sync_engine, "connect", attach)
    return engine


async def _prepare(connection: AsyncConnection, restart: bool) -> None:
    if connection.dialect.name == "postgresql":
        if restart:
            await connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SHADOW} CASCADE"))
        await connection.execute(sa.text(f"CREATE SCHEMA IF NOT EXISTS {SHADOW}"))
    elif restart:
        for table in [*READ_MODELS, progress_outbox]:
            await connection.execute(sa.text(f"DROP TABLE IF EXISTS {SHADOW}.{table.name}"))
    shadow = await connection.execution_options(schema_translate_map={None: SHADOW})
    await shadow.run_sync(
        lambda sync: metadata.create_all(sync, tables=[*READ_MODELS, progress_outbox])
    )


async def _hold_live_projectors(connection: AsyncConnection) -> None:
    """Make running projectors wait until the swap: every batch writes ``rm_stream_versions``.

    What they applied before this point is in the event store, so the final pass, run while
    they wait, puts it in the shadow tables too; what they would apply meanwhile is applied
    after the swap to the new tables (their batch fails on the dropped table and is retried).
    """
    if connection.dialect.name == "postgresql":
        await connection.execute(sa.text("LOCK TABLE rm_stream_versions IN EXCLUSIVE MODE"))
    else:
        await connection.execute(sa.text("DELETE FROM main.rm_checkpoints"))


async def _batches(
    store: SqlEventStore, after: int, size: int
) -> AsyncIterator[list[RecordedEvent]]:
    batch: list[RecordedEvent] = []
    async for record in store.read_all(after=after, batch_size=size):
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _swap(connection: AsyncConnection) -> None:
    if connection.dialect.name == "postgresql":
        live = await connection.scalar(sa.text("SELECT current_schema()"))
        for statement in DROP_VIEWS:
            await connection.execute(sa.text(statement))
        for table in READ_MODELS:
            await connection.execute(sa.text(f'DROP TABLE "{live}"."{table.name}"'))
            await connection.execute(
                sa.text(f'ALTER TABLE {SHADOW}."{table.name}" SET SCHEMA "{live}"')
            )
        await connection.execute(sa.text(f"DROP SCHEMA {SHADOW} CASCADE"))
        for statement in CREATE_VIEWS:
            await connection.execute(sa.text(statement))
        return
    for table in READ_MODELS:
        columns = ", ".join(column.name for column in table.columns)
        await connection.execute(sa.text(f"DELETE FROM main.{table.name}"))
        await connection.execute(
            sa.text(
                f"INSERT INTO main.{table.name} ({columns}) "
                f"SELECT {columns} FROM {SHADOW}.{table.name}"
            )
        )
    for table in [*READ_MODELS, progress_outbox]:
        await connection.execute(sa.text(f"DROP TABLE {SHADOW}.{table.name}"))


async def rebuild(
    url: str, *, batch_size: int = 5000, restart: bool = False, progress: Progress | None = None
) -> RebuildReport:
    engine = _shadow_engine(url)
    try:
        await ensure_migrated(engine)
        async with engine.begin() as connection:
            await _prepare(connection, restart)
        store = SqlEventStore(engine)
        shadow = engine.execution_options(schema_translate_map={None: SHADOW})
        projection = Projection(shadow, store)
        await projection.start()
        tailer = StoreTailer(
            shadow, store, projection, ProjectorMetrics(), batch_size=batch_size, interval_seconds=0
        )
        started = time.perf_counter()
        resumed_at = await tailer.checkpoint()
        total = await store.last_position() - resumed_at
        await tailer.catch_up(None if progress is None else lambda done: progress(done, total))
        async with engine.begin() as connection:
            await _hold_live_projectors(connection)
            position = max(0, await tailer.checkpoint() - FINAL_PASS_MARGIN)
            shadow_connection = await connection.execution_options(
                schema_translate_map={None: SHADOW}
            )
            async for batch in _batches(store, position, batch_size):
                checkpoint = (CHECKPOINT, batch[-1].position)
                await projection.apply_on(shadow_connection, batch, checkpoint)
            read = await store.last_position() - resumed_at
            await _swap(connection)
    finally:
        await engine.dispose()
    if is_sqlite(url):
        await asyncio.to_thread(Path(f"{make_url(url).database}.rebuild").unlink, missing_ok=True)
    return RebuildReport(read, time.perf_counter() - started)
