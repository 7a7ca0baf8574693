"""Applies batches of recorded events to the read models, exactly once in effect.

Per batch, in one transaction: catch up the reference data from the store (so units and
campaigns are always known before the initiatives that name them, whatever partition
delivered what first), refresh targets where reference data changed, fold each initiative
fact into its row, add the rows' contribution changes to every aggregate, and record each
stream's applied version. A redelivered event has a version already recorded and is
skipped; a gap in a stream is an error, never silently skipped.

A batch that fails for a reason other than an outage is settled: applied again in savepoints,
halving the set of streams until each event that cannot be applied is found; that event's
stream is quarantined (``quarantine``) and everything else is applied, in the same
transaction as the checkpoint. No input stops the projector.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector import quarantine, targets
from services.projector.attribution import Attribution
from services.projector.changes import changed, snapshot, unmoved
from services.projector.deltas import add_into
from services.projector.fold import Folded, Recorded, fold_batch, initiative_id
from services.projector.quarantine import STREAM_GAP, UNAPPLICABLE, Quarantined
from services.projector.rows import InitiativeRow
from services.projector.structure import Applied, apply_references
from services.projector.tables import (
    add_authors,
    add_history,
    drop_authors,
    load_rows,
    lock_versions,
    save_checkpoint,
    save_rows,
    save_versions,
    versions,
)
from shared.contracts.base import REFERENCE_STREAM
from shared.contracts.progress import ProgressChanged
from shared.domain.initiative import FACT_TYPES
from shared.eventstore.port import EventStore
from shared.failures import is_transient, reason
from shared.persistence.progress_outbox import progress_outbox
from shared.persistence.upsert import Pending, insert_rows
from shared.reference import ReferenceView

R = TypeVar("R", bound=Recorded)

log = logging.getLogger(__name__)


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
    held: int = 0
    """Events of quarantined streams, left waiting in the store."""
    changes: list[ProgressChanged] = field(default_factory=list)
    quarantined: list[Quarantined] = field(default_factory=list)
    """Events found in this batch that cannot be applied; their streams now wait."""

    def add(self, other: BatchOutcome) -> None:
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.unknown_types += other.unknown_types
        self.held += other.held
        self.changes.extend(other.changes)
        self.quarantined.extend(other.quarantined)


class Projection:
    def __init__(self, engine: AsyncEngine, store: EventStore) -> None:
        self._engine = engine
        self._store = store
        self.view = ReferenceView(store)
        self._memo = Attribution(self.view)
        self._lock = asyncio.Lock()
        self._reference_stop: int | None = None
        """The last reference version to apply while the stream is quarantined."""
        self._reference_trial: int | None = None
        """The last reference version to try while settling finds the one that fails."""

    async def start(self) -> None:
        """Rebuild the reference view up to the version the read models already include."""
        self.view = ReferenceView(self._store)
        self.view.until = self._reference_limit()
        async with self._engine.connect() as connection:
            applied = (await versions(connection, [REFERENCE_STREAM])).get(REFERENCE_STREAM, 0)
        while self.view.version < applied and (page := await self.view.next_page()):
            for record in page:
                if record.stream_version > applied:
                    return
                self.view.apply(record)

    async def apply(
        self,
        records: Sequence[Recorded],
        checkpoint: tuple[str, int] | None = None,
        *,
        release: Sequence[str] = (),
    ) -> BatchOutcome:
        """Apply a batch (and move ``checkpoint`` = (name, position)) in one transaction;
        ``release`` lifts those streams' quarantine in it first (a retry after a fix)."""
        async with self._lock:
            try:
                async with self._engine.begin() as connection:
                    await quarantine.release(connection, release)
                    return await self.apply_on(connection, records, checkpoint)
            except BaseException as error:
                await self.start()
                if not isinstance(error, Exception) or is_transient(error):
                    raise
            try:
                async with self._engine.begin() as connection:
                    await quarantine.release(connection, release)
                    return await self.settle_on(connection, records, checkpoint)
            except BaseException:
                await self.start()
                raise

    async def retry(self, stream_id: str) -> BatchOutcome | None:
        """Apply a quarantined stream again from the event it stopped at (after a fix); the
        outcome says whether it stopped again. ``None`` when the stream is not quarantined."""
        async with self._engine.connect() as connection:
            stopped = (await quarantine.stopped_at(connection, [stream_id])).get(stream_id)
        if stopped is None:
            return None
        records: Sequence[Recorded] = []
        if stream_id != REFERENCE_STREAM:
            records = await self._store.read_stream(stream_id, stopped - 1)
        return await self.apply(records, release=[stream_id])

    async def settle_on(
        self,
        connection: AsyncConnection,
        records: Sequence[Recorded],
        checkpoint: tuple[str, int] | None = None,
    ) -> BatchOutcome:
        """Apply what can be applied of a batch that failed, quarantine the rest (the first
        event that fails in each stream, with the events after it), and move the checkpoint,
        all in the caller's transaction. Raises only on an outage."""
        outcome = BatchOutcome()
        await self._settle_reference(connection, outcome)
        facts = [r for r in records if r.stream_id != REFERENCE_STREAM]
        outcome.unknown_types = sum(1 for r in facts if r.type not in FACT_TYPES)
        by_stream: dict[str, list[Recorded]] = {}
        for record in sorted(_initiative_facts(facts), key=lambda r: r.position):
            by_stream.setdefault(record.stream_id, []).append(record)
        await self._settle_streams(connection, list(by_stream.values()), outcome)
        for q in outcome.quarantined:
            log.error(
                "event quarantined: its stream waits for `initiatives projector quarantine retry`",
                extra={
                    "stream_id": q.stream_id,
                    "stream_version": q.version,
                    "position": q.position,
                    "event_id": q.event_id,
                    "type": q.type,
                    "code": q.code,
                    "reason": q.reason,
                    "held": q.held,
                },
            )
        if checkpoint is not None:
            await save_checkpoint(connection, *checkpoint)
        return outcome

    async def _try(
        self, connection: AsyncConnection, records: Sequence[Recorded]
    ) -> BatchOutcome | Exception:
        """Apply ``records`` in a savepoint: the outcome, or why they could not be applied
        (with nothing of them written). Outages raise."""
        try:
            async with connection.begin_nested():
                return await self._apply(connection, records)
        except Exception as error:
            if is_transient(error):
                raise
            return error

    async def _settle_reference(self, connection: AsyncConnection, outcome: BatchOutcome) -> None:
        """Catch the reference data up as far as it applies; quarantine the first reference
        fact that does not (found by doubling, then halving, the versions tried)."""
        result = await self._try(connection, [])
        if isinstance(result, BatchOutcome):
            outcome.add(result)
            return
        good = (await versions(connection, [REFERENCE_STREAM])).get(REFERENCE_STREAM, 0)
        step, bad, error = 1, None, result
        try:
            while bad is None or bad - good > 1:
                trial = good + step if bad is None else (good + bad) // 2
                self._reference_trial = trial
                tried = await self._try(connection, [])
                if isinstance(tried, BatchOutcome):
                    outcome.add(tried)
                    if self.view.version < trial:
                        return  # the whole stream applies: what failed was not a fact of it
                    good, step = trial, step * 2
                else:
                    bad, error = trial, tried
        finally:
            self._reference_trial = None
        failing = await self._store.read_stream(REFERENCE_STREAM, bad - 1, limit=1)
        if not failing:
            raise error
        await _quarantine(connection, outcome, _quarantined(failing[0], error, held=0))

    async def _settle_streams(
        self,
        connection: AsyncConnection,
        streams: Sequence[Sequence[Recorded]],
        outcome: BatchOutcome,
    ) -> None:
        """Apply the streams' facts together; when that fails, each half on its own."""
        if not streams:
            return
        together = sorted((r for stream in streams for r in stream), key=lambda r: r.position)
        result = await self._try(connection, together)
        if isinstance(result, BatchOutcome):
            outcome.add(result)
        elif len(streams) == 1:
            await self._settle_stream(connection, streams[0], outcome)
        else:
            half = len(streams) // 2
            await self._settle_streams(connection, streams[:half], outcome)
            await self._settle_streams(connection, streams[half:], outcome)

    async def _settle_stream(
        self, connection: AsyncConnection, stream: Sequence[Recorded], outcome: BatchOutcome
    ) -> None:
        """Apply one stream's facts one by one up to the first that fails, which is
        quarantined with the rest held behind it."""
        for index, record in enumerate(stream):
            result = await self._try(connection, [record])
            if isinstance(result, BatchOutcome):
                outcome.add(result)
                continue
            held = len(stream) - index - 1
            await _quarantine(connection, outcome, _quarantined(record, result, held))
            outcome.held += held
            return

    async def apply_on(
        self,
        connection: AsyncConnection,
        records: Sequence[Recorded],
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
        facts, _ = await self._hold(connection, _initiative_facts(records))
        refresh = (await self._catch_up_reference(connection)).refresh
        if refresh:
            await targets.refresh(connection, self.view, refresh)
        replayed = await self._fold_replay_on(connection, facts, {})
        await self.write_replayed(connection, replayed, checkpoint)

    async def stored_wire(self, stream_id: str, version: int) -> bytes:
        """An event as the store holds it, in its wire form (for a dead letter)."""
        found = await self._store.read_stream(stream_id, version - 1, limit=1)
        return found[0].to_wire() if found else b""

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
            facts, _ = await self._hold(connection, _initiative_facts(records))
            return await self._fold_replay_on(connection, facts, pending)

    async def write_replayed(
        self, connection: AsyncConnection, replayed: Replayed, checkpoint: tuple[str, int]
    ) -> None:
        await self._write(connection, replayed.folded, replayed.fresh)
        await save_checkpoint(connection, *checkpoint)

    async def _fold_replay_on(
        self,
        connection: AsyncConnection,
        facts: Sequence[Recorded],
        pending: Mapping[str, InitiativeRow],
    ) -> Replayed:
        """Fold the initiative facts ``facts`` (already cleared of quarantined streams)."""
        applied = await versions(connection, _streams(facts))
        fresh = [r for r in facts if r.stream_version > applied.get(r.stream_id, 0)]
        ids = {initiative_id(r) for r in fresh}
        rows = await load_rows(connection, ids - pending.keys())
        rows.update((key, pending[key]) for key in ids & pending.keys())
        return Replayed(fresh, fold_batch(rows, fresh, self._attribution()))

    async def _apply(
        self, connection: AsyncConnection, records: Sequence[Recorded]
    ) -> BatchOutcome:
        outcome = BatchOutcome()
        facts = [r for r in records if r.stream_id != REFERENCE_STREAM]
        outcome.unknown_types = sum(1 for r in facts if r.type not in FACT_TYPES)
        facts, outcome.held = await self._hold(connection, _initiative_facts(facts))
        ids = {initiative_id(r) for r in facts}
        reference = await self._catch_up_reference(connection)
        refresh = reference.refresh
        # Read after the re-attribution the reference facts made, so taken off again here.
        seen = refresh | {str(key[0]) for key in reference.moved}
        before = unmoved(await snapshot(connection, seen), reference.moved)
        if refresh:
            await targets.refresh(connection, self.view, refresh)
        applied = await lock_versions(connection, _streams(facts))
        fresh, outcome.duplicates = _fresh(facts, applied)
        folded = fold_batch(await load_rows(connection, ids), fresh, self._attribution())
        await self._write(connection, folded, fresh)
        outcome.applied = len(fresh)
        progress = folded.deltas.progress
        after = await snapshot(connection, seen | {str(key[0]) for key in progress})
        as_of = max((r.occurred_at for r in records), default=dt.datetime.now(dt.UTC))
        add_into(reference.moved, progress)
        outcome.changes = changed(before, after, reference.moved, as_of, seen)
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
        await drop_authors(connection, folded.authors_dropped)
        pending = Pending(connection)
        await save_rows(pending, self.view.campaigns, folded.rows)
        await add_authors(pending, folded.authors_added)
        await add_history(pending, folded.history)
        await folded.deltas.write(pending)
        await save_versions(pending, {r.stream_id: r.stream_version for r in fresh})
        await pending.flush()

    async def _hold(self, connection: AsyncConnection, facts: Sequence[R]) -> tuple[list[R], int]:
        """The facts of streams not quarantined, and how many were held; also learns where
        the reference stream stops."""
        stopped = await quarantine.stopped_at(connection, [REFERENCE_STREAM, *_streams(facts)])
        reference = stopped.pop(REFERENCE_STREAM, None)
        self._reference_stop = None if reference is None else reference - 1
        if not stopped:
            return list(facts), 0
        kept = [r for r in facts if r.stream_id not in stopped]
        return kept, len(facts) - len(kept)

    def _reference_limit(self) -> int | None:
        limits = [v for v in (self._reference_stop, self._reference_trial) if v is not None]
        return min(limits) if limits else None

    async def _catch_up_reference(self, connection: AsyncConnection) -> Applied:
        """Bring view and tables to the newest reference version; what that changed.

        Facts the tables already hold (applied by another projector instance, or present in
        tables swapped in by a rebuild) only move the view; the rest are applied under a
        lock on the reference version, so exactly one instance applies each one.
        """
        durable = (await versions(connection, [REFERENCE_STREAM])).get(REFERENCE_STREAM, 0)
        limit = self._reference_limit()
        if durable < self.view.version or (limit is not None and self.view.version > limit):
            await self.start()
        self.view.until = limit
        locked = False
        applied = Applied()
        while fresh := await self.view.next_page():
            if not locked and any(record.stream_version > durable for record in fresh):
                durable = (await lock_versions(connection, [REFERENCE_STREAM]))[REFERENCE_STREAM]
                locked = True
            for record in fresh:
                if record.stream_version <= durable:
                    self.view.apply(record)
            applied |= await apply_references(
                connection, self.view, [r for r in fresh if r.stream_version > durable]
            )
        if self.view.version > durable:
            await save_versions(connection, {REFERENCE_STREAM: self.view.version})
        return applied

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


async def _quarantine(connection: AsyncConnection, outcome: BatchOutcome, q: Quarantined) -> None:
    """Stop a stream at once, in the settling transaction: every later trial then holds its
    events (for the reference stream: reads no further) as the next batches will."""
    await quarantine.record(connection, [q], dt.datetime.now(dt.UTC))
    outcome.quarantined.append(q)


def _quarantined(record: Recorded, error: Exception, held: int) -> Quarantined:
    return Quarantined(
        stream_id=record.stream_id,
        version=record.stream_version,
        position=record.position,
        type=record.type,
        code=STREAM_GAP if isinstance(error, StreamGap) else UNAPPLICABLE,
        reason=reason(error),
        held=held,
        event_id=getattr(record, "event_id", None),
    )


def _fresh(records: Sequence[R], applied: dict[str, int]) -> tuple[list[R], int]:
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
