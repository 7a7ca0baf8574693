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
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector.bi_views import DROP_VIEWS, Dialect, create_views
from services.projector.columnar import PAYLOAD_FIELDS, ColumnarFold
from services.projector.read_models import TABLES
from services.projector.replay import Replay, Replayed
from services.projector.rows import InitiativeRow
from services.projector.schema import metadata, rm_stream_versions
from services.projector.tables import new_revision, read_checkpoint, save_checkpoint
from services.projector.tailer import CHECKPOINT
from shared.contracts.base import REFERENCE_STREAM
from shared.contracts.recorded import StoredFact
from shared.dependencies import StartupFailure
from shared.eventstore.schema import events
from shared.eventstore.sql import SqlEventStore
from shared.failures import is_transient
from shared.persistence.engine import create_engine, is_sqlite
from shared.persistence.migrations import ensure_migrated
from shared.persistence.progress_outbox import progress_outbox
from shared.persistence.published import CREATE_UNIT_VIEWS, DROP_UNIT_VIEWS

SHADOW = "rm_rebuild"
FINAL_PASS_MARGIN = 100_000
"""Positions looked at again in the swap transaction: events that were still being committed
when the replay passed them have lower positions than events already read."""

DEFAULT_BATCH = 20_000
"""Events per replay transaction: each batch's writes are one statement per table, and one
unit's or one day's rows are shared by more facts, but memory grows with it. Measured at
scale 0.05: 20,000 replays at 5,900 events/s in 206 MB, 50,000 at 7,200 events/s in 356 MB."""
HISTORY_BATCH = 50_000
"""Events per transaction of the first pass over whole histories: each chunk's counts reach
every ancestor of the units it touches, so fewer chunks write fewer partial rows, and the
fold's lookups are made once per chunk. Measured on the national set, in turn: 20,000 took
the pass 111–114 s (peak 728 MiB), 50,000 took 100 s (794 MiB), 100,000 took 93 s but
peaked at 1,075 MiB, over the 1 GiB goal."""

Progress = Callable[[int, int], None]
"""Called with (events read so far, events to read in all)."""
Stage = Callable[[str], None]
"""Called with what the rebuild does next as each stage begins: after the last event is
read, a national rebuild still sums, counts and swaps for minutes."""


def _silent(_stage: str) -> None:
    """The default :data:`Stage`: nothing is told."""


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
        for table in [*TABLES, progress_outbox]:
            await connection.execute(sa.text(f"DROP TABLE IF EXISTS {SHADOW}.{table.name}"))
    shadow = await connection.execution_options(schema_translate_map={None: SHADOW})
    await shadow.run_sync(lambda sync: metadata.create_all(sync, tables=[*TABLES, progress_outbox]))
    if connection.dialect.name == "postgresql":
        for table in TABLES:
            await connection.execute(
                sa.text(f'ALTER TABLE {SHADOW}."{table.name}" SET (autovacuum_enabled = false)')
            )


async def _ready_for_readers(connection: AsyncConnection) -> None:
    """Vacuum the shadow tables as any other again, and give the planner their statistics.

    While the replay writes them, autovacuum would scan tables that only grow, on the core
    the fold needs (measured at national scale: it was busy on the author references half
    of the time)."""
    if connection.dialect.name != "postgresql":
        return
    for table in TABLES:
        name = f'{SHADOW}."{table.name}"'
        await connection.execute(sa.text(f"ALTER TABLE {name} RESET (autovacuum_enabled)"))
        await connection.execute(sa.text(f"ANALYZE {name}"))


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


async def _applied(shadow: AsyncEngine) -> tuple[int, str]:
    """How many events the shadow tables hold (a stream's versions have no gaps), and the
    last initiative stream among them in id order (``""`` for none)."""
    versions = rm_stream_versions.c
    async with shadow.connect() as connection:
        count, last = (
            await connection.execute(
                sa.select(
                    sa.func.coalesce(sa.func.sum(versions.version), 0),
                    sa.func.max(
                        sa.case((versions.stream_id != REFERENCE_STREAM, versions.stream_id))
                    ),
                )
            )
        ).one()
    return int(count), last or ""


async def _replay_histories(
    shadow: AsyncEngine,
    store: SqlEventStore,
    replay: Replay,
    batch_size: int,
    progress: Callable[[int], None] | None,
    stage: Stage,
) -> int:
    """Fold whole histories set at a time: all the reference data first, then the
    initiatives' histories in stream id order, about ``batch_size`` events per transaction;
    the position reached (the store's last when it started).

    Three chunks are in hand at once: the next one is read, the current one folded in a
    thread (the engine runs outside the interpreter lock) and the previous one written, so
    the server's work overlaps the fold's. An interrupted pass resumes after the last stream
    it wrote: each transaction holds whole histories, in order. What the columnar fold leaves
    aside (and a chunk that fails as a whole) is applied by the per-event fold in the same
    transaction, which quarantines what cannot be applied as the live projection would. The
    checkpoint moves at the end.
    """
    until = await store.last_position()
    before, after = await _applied(shadow)
    stage("reading reference data")
    async with shadow.begin() as connection:
        await replay.apply_on(connection, [], (CHECKPOINT, 0))
        await replay.open_histories(connection)
    stage("replaying histories")
    done = (await _applied(shadow))[0] - before

    def read(last: str) -> asyncio.Future[pl.DataFrame]:
        return asyncio.ensure_future(store.read_histories(last, until, batch_size, PAYLOAD_FIELDS))

    reading = read(after)
    folding: _Folding | None = None
    upcoming: _Folding | None = None
    try:
        while True:
            histories = await reading
            upcoming = None
            if histories.height:
                reading = read(histories["stream_id"][-1])
                upcoming = _Folding.start(replay, histories)
            if folding is not None:
                await folding.write(shadow, replay, store, until)
                done += folding.histories.height
                if progress is not None:
                    progress(done)
            if upcoming is None:
                break
            folding = upcoming
    finally:
        reading.cancel()
        for unfinished in (folding, upcoming):
            if unfinished is not None:
                unfinished.fold.cancel()
    stage("adding up counts, counting distinct authors")
    await replay.close_histories()
    async with shadow.begin() as connection:
        await replay.end_histories(connection)
        await save_checkpoint(connection, CHECKPOINT, until)
    return until


@dataclass(frozen=True)
class _Folding:
    """A chunk of histories being folded in a thread, against the reference data of
    ``reference``."""

    histories: pl.DataFrame
    fold: asyncio.Future[ColumnarFold]
    reference: int

    @classmethod
    def start(cls, replay: Replay, histories: pl.DataFrame) -> _Folding:
        fold = asyncio.ensure_future(asyncio.to_thread(replay.fold_histories, histories))
        return cls(histories, fold, replay.reference_version)

    async def write(
        self, shadow: AsyncEngine, replay: Replay, store: SqlEventStore, until: int
    ) -> None:
        """Write the fold (folded again here if settling the chunk before moved the reference
        data on meanwhile), then settle what it left, read again from the store with their
        payloads (the chunk holds only the fields the fold reads), in one transaction."""
        async with shadow.begin() as connection:
            try:
                async with connection.begin_nested():
                    fold = await self.fold
                    if replay.reference_version != self.reference:
                        fold = replay.fold_histories(self.histories)
                    await replay.write_histories(connection, fold)
                    left = fold.fallback
            except Exception as error:
                if is_transient(error):
                    raise
                left = frozenset(self.histories["stream_id"])
            if left:
                facts = await store.read_history_facts(left, until)
                await replay.settle_histories(connection, facts)


async def _replay(
    shadow: AsyncEngine,
    store: SqlEventStore,
    replay: Replay,
    after: int,
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Replay every event after position ``after`` (in batches of one transaction each, the
    checkpoint moving with them); the position reached.

    Three batches are in hand at once: the next one is read and decoded, the current one
    folded, and the previous one written. Folding needs the rows the previous batch changed;
    they come from memory until its transaction commits. A batch whose reference data moved
    on (units moved or merged meanwhile) waits for the writes before it and runs alone.
    """
    done = 0
    ahead = asyncio.ensure_future(store.read_facts(after, batch_size))
    writing: asyncio.Future[None] | None = None
    pending: Mapping[str, InitiativeRow] = {}

    interruptions: list[BaseException] = []

    def advance(count: int) -> None:
        """Report progress; what the caller's callback raises interrupts the rebuild (it is
        never taken for an event that cannot be applied)."""
        nonlocal done
        done += count
        if progress is not None:
            try:
                progress(done)
            except BaseException as interruption:
                interruptions.append(interruption)
                raise

    async def write(replayed: Replayed, checkpoint: tuple[str, int], count: int) -> None:
        async with shadow.begin() as connection:
            await replay.write(connection, replayed, checkpoint)
        advance(count)

    async def settle(batches: Sequence[Sequence[StoredFact]]) -> None:
        """Apply batches that failed as a whole event by event where needed: what cannot
        be applied is quarantined in the shadow, as the live projection would."""
        for failed in batches:
            await replay.settle(failed, (CHECKPOINT, failed[-1].position))
            advance(len(failed))

    written: list[StoredFact] = []
    try:
        while batch := await ahead:
            after = batch[-1].position
            ahead = asyncio.ensure_future(store.read_facts(after, batch_size))
            try:
                if not await replay.is_current():
                    if writing is not None:
                        await writing
                        writing, pending = None, {}
                    async with shadow.begin() as connection:
                        await replay.apply_on(connection, batch, (CHECKPOINT, after))
                    advance(len(batch))
                    continue
                replayed = await replay.fold(batch, pending)
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(write(replayed, (CHECKPOINT, after), len(batch)))
                written, pending = batch, replayed.folded.rows
            except Exception as error:
                if _must_stop(error, interruptions):
                    raise
                earlier = writing is not None and not await _succeeded(writing, interruptions)
                writing, pending = None, {}
                await settle([written, batch] if earlier else [batch])
        if writing is not None and not await _succeeded(writing, interruptions):
            await settle([written])
    finally:
        ahead.cancel()
        if writing is not None:
            writing.cancel()
    return after


def _must_stop(error: Exception, interruptions: list[BaseException]) -> bool:
    """An outage, or the caller interrupting: not an event to settle."""
    return is_transient(error) or any(error is i for i in interruptions)


async def _succeeded(writing: asyncio.Future[None], interruptions: list[BaseException]) -> bool:
    """Whether a batch's write went through; an outage or an interruption still raises."""
    try:
        await writing
    except Exception as error:
        if _must_stop(error, interruptions):
            raise
        return False
    return True


async def _final_pass_start(connection: AsyncConnection, reached: int) -> int:
    """Where the final pass starts reading: before the first event of the last
    ``FINAL_PASS_MARGIN`` positions that the shadow lacks, else where the replay stopped.

    Found by joining the store's events with the shadow's applied versions, so the final
    pass (run while live projectors wait) reads only from the first event it needs.
    """
    applied = rm_stream_versions.to_metadata(sa.MetaData(), schema=SHADOW)
    missed = await connection.scalar(
        sa.select(sa.func.min(events.c.position))
        .select_from(events.outerjoin(applied, applied.c.stream_id == events.c.stream_id))
        .where(
            events.c.position > max(0, reached - FINAL_PASS_MARGIN),
            events.c.position <= reached,
            events.c.stream_version > sa.func.coalesce(applied.c.version, 0),
        )
    )
    return reached if missed is None else int(missed) - 1


async def _swap(connection: AsyncConnection) -> None:
    if connection.dialect.name == "postgresql":
        live = await connection.scalar(sa.text("SELECT current_schema()"))
        for statement in [*DROP_UNIT_VIEWS, *DROP_VIEWS]:
            await connection.execute(sa.text(statement))
        for table in TABLES:
            await connection.execute(sa.text(f'DROP TABLE "{live}"."{table.name}"'))
            await connection.execute(
                sa.text(f'ALTER TABLE {SHADOW}."{table.name}" SET SCHEMA "{live}"')
            )
        await connection.execute(sa.text(f"DROP SCHEMA {SHADOW} CASCADE"))
        for statement in [*create_views(Dialect.POSTGRESQL), *CREATE_UNIT_VIEWS]:
            await connection.execute(sa.text(statement))
        await _new_live_revision(connection, str(live))
        return
    for table in TABLES:
        columns = ", ".join(column.name for column in table.columns)
        await connection.execute(sa.text(f"DELETE FROM main.{table.name}"))
        await connection.execute(
            sa.text(
                f"INSERT INTO main.{table.name} ({columns}) "
                f"SELECT {columns} FROM {SHADOW}.{table.name}"
            )
        )
    for table in [*TABLES, progress_outbox]:
        await connection.execute(sa.text(f"DROP TABLE {SHADOW}.{table.name}"))
    await _new_live_revision(connection, "main")


async def _new_live_revision(connection: AsyncConnection, live: str) -> None:
    """Tell the query API the tables it reads were swapped: the swap's connection writes
    the shadow schema, so the revision is redrawn in the live one by name."""
    await new_revision(await connection.execution_options(schema_translate_map={None: live}))


class RebuildRunning(StartupFailure):
    """Another rebuild (or ``verify``) holds the database's rebuild lock."""


REBUILD_LOCK = 0x696E_6974_7262_6C64
"""The advisory lock a rebuild holds on PostgreSQL for as long as it runs."""


@asynccontextmanager
async def _alone(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold the database's rebuild lock, or refuse: two rebuilds at once write the same
    shadow tables (one's ``--restart`` dropped them under the other's close, a deadlock).
    On SQLite the embedded default runs in one process, so there is nothing to hold."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as connection:
        if not await connection.scalar(sa.select(sa.func.pg_try_advisory_lock(REBUILD_LOCK))):
            raise RebuildRunning(
                "another rebuild or verify is running on this database; "
                "wait for it to end (or stop it) and run this again"
            )
        try:
            yield
        finally:
            await connection.execute(sa.select(sa.func.pg_advisory_unlock(REBUILD_LOCK)))


Finish = Callable[[AsyncConnection], Awaitable[None]]
"""What is done with the replayed tables in the transaction that holds live projectors: the
swap, or (``initiatives projector verify``) a comparison with the live tables."""


async def rebuild(
    url: str,
    *,
    batch_size: int | None = None,
    restart: bool = False,
    progress: Progress | None = None,
    stage: Stage | None = None,
    finish: Finish = _swap,
) -> RebuildReport:
    """Replay the store into the shadow tables, then swap them in (or ``finish`` them),
    telling ``progress`` how far the replay is and ``stage`` what it does; ``batch_size``
    events per transaction (by default :data:`HISTORY_BATCH` in the pass over whole
    histories, :data:`DEFAULT_BATCH` in the others)."""
    tell = stage or _silent
    chunk_size = batch_size or HISTORY_BATCH
    batch_size = batch_size or DEFAULT_BATCH
    engine = _shadow_engine(url)
    try:
        await ensure_migrated(engine)
        async with _alone(engine):
            async with engine.begin() as connection:
                await _prepare(connection, restart)
            store = SqlEventStore(engine)
            shadow = engine.execution_options(schema_translate_map={None: SHADOW})
            replay = Replay(shadow, store)
            await replay.start()
            started = time.perf_counter()
            async with shadow.connect() as connection:
                resumed_at = await read_checkpoint(connection, CHECKPOINT)
            last = await store.last_position()
            if resumed_at == 0:
                total = last - (await _applied(shadow))[0]
                report = None if progress is None else lambda done: progress(done, total)
                reached = await _replay_histories(shadow, store, replay, chunk_size, report, tell)
            else:
                total = last - resumed_at
                report = None if progress is None else lambda done: progress(done, total)
                tell("replaying events")
                reached = await _replay(shadow, store, replay, resumed_at, batch_size, report)
            tell("analysing the new tables")
            async with engine.begin() as connection:
                await _ready_for_readers(connection)
            tell("final pass, live projectors held")
            async with engine.begin() as connection:
                await _hold_live_projectors(connection)
                position = await _final_pass_start(connection, reached)
                # From here on the connection writes the shadow tables (the swap is plain SQL).
                await connection.execution_options(schema_translate_map={None: SHADOW})
                while batch := await store.read_facts(position, batch_size):
                    position = batch[-1].position
                    try:
                        async with connection.begin_nested():
                            await replay.apply_on(connection, batch, (CHECKPOINT, position))
                    except Exception as error:
                        if is_transient(error):
                            raise
                        await replay.settle_on(connection, batch, (CHECKPOINT, position))
                read = await store.last_position() - resumed_at
                await finish(connection)
    finally:
        await engine.dispose()
    if is_sqlite(url):
        await asyncio.to_thread(Path(f"{make_url(url).database}.rebuild").unlink, missing_ok=True)
    return RebuildReport(read, time.perf_counter() - started)
