"""The live runner: applies batches of recorded events to the read models, exactly once in
effect, and says which figures moved (the rebuild's runner is ``replay``).

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
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector import quarantine, targets
from services.projector.changes import changed, snapshot, unmoved
from services.projector.deltas import add_into
from services.projector.fold import (
    R,
    Recorded,
    applied_by,
    fold_batch,
    initiative_facts,
    initiative_id,
    streams_of,
)
from services.projector.quarantine import STREAM_GAP, UNAPPLICABLE, Quarantined
from services.projector.reference_catch_up import ReferenceCatchUp
from services.projector.tables import (
    load_rows,
    lock_versions,
    new_revision,
    save_checkpoint,
    versions,
    write_folded,
)
from shared.clock import Clock, utc_now
from shared.contracts.base import REFERENCE_STREAM
from shared.contracts.progress import ProgressChanged
from shared.domain.initiative import FACT_TYPES
from shared.eventstore.port import EventStore
from shared.failures import is_transient, reason
from shared.persistence.progress_outbox import progress_outbox
from shared.persistence.upsert import insert_rows
from shared.reference import ReferenceView

log = logging.getLogger(__name__)


class StreamGap(RuntimeError):
    """An event arrived whose predecessor in its stream was never applied."""


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
    """Public API: :meth:`start`, :meth:`apply` (a batch, with its checkpoint), :meth:`retry`
    (a quarantined stream), :meth:`settle_on` (what a failed batch allows) and
    :meth:`stored_wire`."""

    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        *,
        clock: Clock = utc_now,
        reference: ReferenceCatchUp | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._clock = clock
        self._reference = reference or ReferenceCatchUp(engine, store)
        self._lock = asyncio.Lock()

    @property
    def view(self) -> ReferenceView:
        return self._reference.view

    async def start(self) -> None:
        """Rebuild the reference view up to the version the read models already include."""
        await self._reference.start()

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
                    outcome = await self._apply(connection, records)
                    if checkpoint is not None:
                        await save_checkpoint(connection, *checkpoint)
                    await new_revision(connection)
                    return outcome
            except BaseException as error:
                await self.start()
                if not isinstance(error, Exception) or is_transient(error):
                    raise
            try:
                async with self._engine.begin() as connection:
                    await quarantine.release(connection, release)
                    outcome = await self.settle_on(connection, records, checkpoint)
                    await new_revision(connection)
                    return outcome
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
        for record in sorted(initiative_facts(facts), key=lambda r: r.position):
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
                self._reference.trial = trial
                tried = await self._try(connection, [])
                if isinstance(tried, BatchOutcome):
                    outcome.add(tried)
                    if self._reference.view.version < trial:
                        return  # the whole stream applies: what failed was not a fact of it
                    good, step = trial, step * 2
                else:
                    bad, error = trial, tried
        finally:
            self._reference.trial = None
        failing = await self._store.read_stream(REFERENCE_STREAM, bad - 1, limit=1)
        if not failing:
            raise error
        await self._quarantine(connection, outcome, _quarantined(failing[0], error, held=0))

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
            await self._quarantine(connection, outcome, _quarantined(record, result, held))
            outcome.held += held
            return

    async def _quarantine(
        self, connection: AsyncConnection, outcome: BatchOutcome, q: Quarantined
    ) -> None:
        """Stop a stream at once, in the settling transaction: every later trial then holds
        its events (for the reference stream: reads no further) as the next batches will."""
        await quarantine.record(connection, [q], self._clock())
        outcome.quarantined.append(q)

    async def stored_wire(self, stream_id: str, version: int) -> bytes:
        """An event as the store holds it, in its wire form (for a dead letter)."""
        found = await self._store.read_stream(stream_id, version - 1, limit=1)
        return found[0].to_wire() if found else b""

    async def _apply(
        self, connection: AsyncConnection, records: Sequence[Recorded]
    ) -> BatchOutcome:
        outcome = BatchOutcome()
        facts = [r for r in records if r.stream_id != REFERENCE_STREAM]
        outcome.unknown_types = sum(1 for r in facts if r.type not in FACT_TYPES)
        facts, outcome.held = await self._reference.hold(connection, initiative_facts(facts))
        ids = {initiative_id(r) for r in facts}
        reference = await self._reference.catch_up(connection)
        refresh = reference.refresh
        # Read after the re-attribution the reference facts made, so taken off again here.
        seen = refresh | {str(key[0]) for key in reference.moved}
        before = unmoved(await snapshot(connection, seen), reference.moved)
        if refresh:
            await targets.refresh(connection, self._reference.view, refresh)
        applied = await lock_versions(connection, streams_of(facts))
        fresh, outcome.duplicates = _fresh(facts, applied)
        folded = fold_batch(await load_rows(connection, ids), fresh, self._reference.attribution())
        await write_folded(connection, self._reference.attribution(), folded, applied_by(fresh))
        outcome.applied = len(fresh)
        progress = folded.deltas.progress
        after = await snapshot(connection, seen | {str(key[0]) for key in progress})
        now = self._clock()
        as_of = max((r.occurred_at for r in records), default=now)
        add_into(reference.moved, progress)
        outcome.changes = changed(before, after, reference.moved, as_of, seen)
        await insert_rows(
            connection,
            progress_outbox,
            ["unit_id", "payload", "created_at"],
            [(c.unit_id, c.model_dump(mode="json"), now) for c in outcome.changes],
        )
        return outcome


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
