"""Applies batches of recorded events to the read models, exactly once in effect.

Per batch, in one transaction: catch up the reference data from the store (so units and
campaigns are always known before the initiatives that name them, whatever partition
delivered what first), refresh targets where reference data changed, fold each initiative
fact into its row, add the rows' contribution changes to every aggregate, and record each
stream's applied version. A redelivered event has a version already recorded and is
skipped; a gap in a stream is an error, never silently skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector import targets
from services.projector.attribution import Attribution
from services.projector.changes import changed, snapshot
from services.projector.fold import Folded, Recorded, fold, initiative_id
from services.projector.rows import InitiativeRow
from services.projector.structure import apply_references
from services.projector.tables import (
    add_history,
    load_rows,
    lock_versions,
    save_checkpoint,
    save_rows,
    save_versions,
    versions,
)
from shared.contracts.base import REFERENCE_STREAM
from shared.contracts.progress import ProgressChanged
from shared.contracts.recorded import RecordedEvent
from shared.domain.initiative import FACT_TYPES
from shared.eventstore.port import EventStore
from shared.persistence.schema import progress_outbox
from shared.persistence.upsert import Pending, insert_rows
from shared.reference import ReferenceView

R = TypeVar("R", bound=Recorded)


class StreamGap(RuntimeError):
    """An event arrived whose predecessor in its stream was never applied."""


@dataclass(frozen=True)
class Replayed:
    """A rebuild's batch folded and not yet written."""

    fresh: list[Recorded]
    """The facts not applied before, whose stream versions the write records."""
    folded: Folded


@dataclass
class BatchOutcome:
    applied: int = 0
    duplicates: int = 0
    unknown_types: int = 0
    changes: list[ProgressChanged] = field(default_factory=list)


class Projection:
    def __init__(self, engine: AsyncEngine, store: EventStore) -> None:
        self._engine = engine
        self._store = store
        self.view = ReferenceView(store)
        self._memo = Attribution(self.view)
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Rebuild the reference view up to the version the read models already include."""
        self.view = ReferenceView(self._store)
        async with self._engine.connect() as connection:
            applied = (await versions(connection, [REFERENCE_STREAM])).get(REFERENCE_STREAM, 0)
        while self.view.version < applied and (page := await self.view.next_page()):
            for record in page:
                if record.stream_version > applied:
                    return
                self.view.apply(record)

    async def apply(
        self, records: Sequence[RecordedEvent], checkpoint: tuple[str, int] | None = None
    ) -> BatchOutcome:
        """Apply a batch (and move ``checkpoint`` = (name, position)) in one transaction."""
        async with self._lock:
            try:
                async with self._engine.begin() as connection:
                    return await self.apply_on(connection, records, checkpoint)
            except BaseException:
                await self.start()
                raise

    async def apply_on(
        self,
        connection: AsyncConnection,
        records: Sequence[RecordedEvent],
        checkpoint: tuple[str, int] | None = None,
    ) -> BatchOutcome:
        """Apply inside the caller's transaction (a rebuild's final pass before its swap)."""
        outcome = await self._apply(connection, records)
        if checkpoint is not None:
            await save_checkpoint(connection, *checkpoint)
        return outcome

    async def replay_on(
        self,
        connection: AsyncConnection,
        records: Sequence[Recorded],
        checkpoint: tuple[str, int],
    ) -> None:
        """Apply what a rebuild reads from the store, in position order, into tables only it
        writes: records the tables already hold are dropped by their stream's version, and
        the rest need neither locks (no other writer), gap checks (the store has no gaps)
        nor progress changes (a rebuild notifies no one). The reference catch-up and the
        fold are the live projection's own."""
        refresh = await self._catch_up_reference(connection)
        if refresh:
            await targets.refresh(connection, self.view, refresh)
        replayed = await self._fold_replay_on(connection, records, {})
        await self.write_replayed(connection, replayed, checkpoint)

    async def reference_is_current(self) -> bool:
        """Whether the view holds every reference fact in the store: then a rebuild's next
        batch folds the same way whether or not the previous batch's writes have committed."""
        return not await self._store.read_stream(REFERENCE_STREAM, self.view.version, limit=1)

    async def fold_replay(
        self, records: Sequence[Recorded], pending: Mapping[str, InitiativeRow]
    ) -> Replayed:
        """The reading half of :meth:`replay_on`, on a connection of its own, while the rows
        of a batch still being written (``pending``) are taken from memory. Only valid while
        :meth:`reference_is_current`."""
        async with self._engine.connect() as connection:
            return await self._fold_replay_on(connection, records, pending)

    async def write_replayed(
        self, connection: AsyncConnection, replayed: Replayed, checkpoint: tuple[str, int]
    ) -> None:
        await self._write(connection, replayed.folded, replayed.fresh)
        await save_checkpoint(connection, *checkpoint)

    async def _fold_replay_on(
        self,
        connection: AsyncConnection,
        records: Sequence[Recorded],
        pending: Mapping[str, InitiativeRow],
    ) -> Replayed:
        facts = _initiative_facts(records)
        applied = await versions(connection, _streams(facts))
        fresh = [r for r in facts if r.stream_version > applied.get(r.stream_id, 0)]
        ids = {initiative_id(r) for r in fresh}
        rows = await load_rows(connection, ids - pending.keys())
        rows.update((key, pending[key]) for key in ids & pending.keys())
        return Replayed(fresh, fold(rows, fresh, self._attribution()))

    async def _apply(
        self, connection: AsyncConnection, records: Sequence[RecordedEvent]
    ) -> BatchOutcome:
        outcome = BatchOutcome()
        facts = [r for r in records if r.stream_id != REFERENCE_STREAM]
        outcome.unknown_types = sum(1 for r in facts if r.type not in FACT_TYPES)
        facts = _initiative_facts(facts)
        ids = {initiative_id(r) for r in facts}
        refresh = await self._catch_up_reference(connection)
        before = await snapshot(connection, refresh)
        if refresh:
            await targets.refresh(connection, self.view, refresh)
        applied = await lock_versions(connection, _streams(facts))
        fresh, outcome.duplicates = _fresh(facts, applied)
        folded = fold(await load_rows(connection, ids), fresh, self._attribution())
        await self._write(connection, folded, fresh)
        outcome.applied = len(fresh)
        progress = folded.deltas.progress
        after = await snapshot(connection, refresh | {str(key[0]) for key in progress})
        as_of = max((r.occurred_at for r in records), default=dt.datetime.now(dt.UTC))
        outcome.changes = changed(before, after, progress, as_of)
        now = dt.datetime.now(dt.UTC)
        await insert_rows(
            connection,
            progress_outbox,
            ["unit_id", "payload", "created_at"],
            [(c.unit_id, c.model_dump(mode="json"), now) for c in outcome.changes],
        )
        return outcome

    async def _write(
        self, connection: AsyncConnection, folded: Folded, fresh: Sequence[Recorded]
    ) -> None:
        """The batch's rows, history, aggregates and applied versions, in one statement on
        PostgreSQL (each part writes a table of its own)."""
        pending = Pending(connection)
        await save_rows(pending, self.view.campaigns, folded.rows)
        await add_history(pending, folded.history)
        await folded.deltas.write(pending)
        await save_versions(pending, {r.stream_id: r.stream_version for r in fresh})
        await pending.flush()

    async def _catch_up_reference(self, connection: AsyncConnection) -> set[str]:
        """Bring view and tables to the newest reference version; the units to refresh.

        Facts the tables already hold (applied by another projector instance, or present in
        tables swapped in by a rebuild) only move the view; the rest are applied under a
        lock on the reference version, so exactly one instance applies each one.
        """
        durable = (await versions(connection, [REFERENCE_STREAM])).get(REFERENCE_STREAM, 0)
        if durable < self.view.version:
            await self.start()
        locked = False
        refresh: set[str] = set()
        while fresh := await self.view.next_page():
            if not locked and any(record.stream_version > durable for record in fresh):
                durable = (await lock_versions(connection, [REFERENCE_STREAM]))[REFERENCE_STREAM]
                locked = True
            for record in fresh:
                if record.stream_version <= durable:
                    self.view.apply(record)
            refresh |= await apply_references(
                connection, self.view, [r for r in fresh if r.stream_version > durable]
            )
        if self.view.version > durable:
            await save_versions(connection, {REFERENCE_STREAM: self.view.version})
        return refresh

    def _attribution(self) -> Attribution:
        """Memoised lookups, kept while the reference view stays as it is."""
        if not self._memo.current(self.view):
            self._memo = Attribution(self.view)
        return self._memo


def _initiative_facts(records: Sequence[R]) -> list[R]:
    """The facts about initiatives (reference facts are read from their stream instead)."""
    return [r for r in records if r.stream_id != REFERENCE_STREAM and r.type in FACT_TYPES]


def _streams(records: Sequence[Recorded]) -> list[str]:
    return sorted({r.stream_id for r in records})


def _fresh(
    records: Sequence[RecordedEvent], applied: dict[str, int]
) -> tuple[list[RecordedEvent], int]:
    """The records not applied before, in stream order; raises on a gap."""
    fresh = []
    duplicates = 0
    for record in sorted(records, key=lambda r: (r.stream_id, r.stream_version)):
        current = applied.get(record.stream_id, 0)
        if record.stream_version <= current:
            duplicates += 1
        elif record.stream_version == current + 1:
            applied[record.stream_id] = record.stream_version
            fresh.append(record)
        else:
            raise StreamGap(
                f"{record.stream_id} version {record.stream_version} arrived after {current}"
            )
    return sorted(fresh, key=lambda r: r.position), duplicates
