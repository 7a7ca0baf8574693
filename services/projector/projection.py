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
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector import targets
from services.projector.attribution import Attribution
from services.projector.changes import changed, snapshot
from services.projector.fold import fold, initiative_id
from services.projector.rows import InitiativeRow
from services.projector.structure import apply_reference
from shared.contracts.base import REFERENCE_STREAM
from shared.contracts.progress import ProgressChanged
from shared.contracts.recorded import RecordedEvent
from shared.domain.initiative import FACT_TYPES
from shared.eventstore.port import EventStore
from shared.persistence.schema import (
    progress_outbox,
    rm_checkpoints,
    rm_initiative_history,
    rm_initiatives,
    rm_stream_versions,
)
from shared.persistence.upsert import insert_on_conflict, upsert
from shared.reference import ReferenceView

CHUNK = 500


class StreamGap(RuntimeError):
    """An event arrived whose predecessor in its stream was never applied."""


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
            applied = (await _versions(connection, [REFERENCE_STREAM])).get(REFERENCE_STREAM, 0)
        for record in await self._store.read_stream(REFERENCE_STREAM):
            if record.stream_version > applied:
                break
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
            await _save_checkpoint(connection, *checkpoint)
        return outcome

    async def _apply(
        self, connection: AsyncConnection, records: Sequence[RecordedEvent]
    ) -> BatchOutcome:
        outcome = BatchOutcome()
        facts = [r for r in records if r.stream_id != REFERENCE_STREAM]
        outcome.unknown_types = sum(1 for r in facts if r.type not in FACT_TYPES)
        facts = [r for r in facts if r.type in FACT_TYPES]
        ids = {initiative_id(r) for r in facts}
        refresh = await self._catch_up_reference(connection)
        before = await snapshot(connection, refresh)
        if refresh:
            await targets.refresh(connection, self.view, refresh)
        applied = await _lock_versions(connection, _streams(facts))
        fresh, outcome.duplicates = _fresh(facts, applied)
        rows = await _rows(connection, ids)
        folded = fold(rows, fresh, self._attribution())
        await self._write_rows(connection, [folded.rows[i] for i in sorted(folded.rows)])
        if folded.history:
            await connection.execute(rm_initiative_history.insert(), folded.history)
        deltas = folded.deltas
        await deltas.write(connection)
        await _save_versions(connection, {r.stream_id: r.stream_version for r in fresh})
        outcome.applied = len(fresh)
        units = refresh | {str(key[0]) for key in deltas.progress}
        after = await snapshot(connection, units)
        as_of = max((r.occurred_at for r in records), default=dt.datetime.now(dt.UTC))
        outcome.changes = changed(before, after, deltas.progress, as_of)
        if outcome.changes:
            now = dt.datetime.now(dt.UTC)
            await connection.execute(
                progress_outbox.insert(),
                [
                    {"unit_id": c.unit_id, "payload": c.model_dump(mode="json"), "created_at": now}
                    for c in outcome.changes
                ],
            )
        return outcome

    async def _catch_up_reference(self, connection: AsyncConnection) -> set[str]:
        """Bring view and tables to the newest reference version; the units to refresh.

        Facts the tables already hold (applied by another projector instance, or present in
        tables swapped in by a rebuild) only move the view; the rest are applied under a
        lock on the reference version, so exactly one instance applies each one.
        """
        durable = (await _versions(connection, [REFERENCE_STREAM])).get(REFERENCE_STREAM, 0)
        if durable < self.view.version:
            await self.start()
        fresh = await self._store.read_stream(REFERENCE_STREAM, self.view.version)
        if any(record.stream_version > durable for record in fresh):
            durable = (await _lock_versions(connection, [REFERENCE_STREAM]))[REFERENCE_STREAM]
        refresh: set[str] = set()
        for record in fresh:
            if record.stream_version <= durable:
                self.view.apply(record)
            else:
                refresh |= await apply_reference(connection, self.view, record)
        if self.view.version > durable:
            await _save_versions(connection, {REFERENCE_STREAM: self.view.version})
        return refresh

    def _attribution(self) -> Attribution:
        """Memoised lookups, kept while the reference view stays as it is."""
        if not self._memo.current(self.view):
            self._memo = Attribution(self.view)
        return self._memo

    async def _write_rows(self, connection: AsyncConnection, rows: list[InitiativeRow]) -> None:
        if not rows:
            return
        records = [row.as_record(self.view.campaigns.get(row.campaign_id).zone) for row in rows]
        columns = [c for c in records[0] if c != "initiative_id"]
        await connection.execute(
            upsert(connection.dialect, rm_initiatives, ["initiative_id"], columns), records
        )


def _streams(records: Sequence[RecordedEvent]) -> list[str]:
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


async def _versions(connection: AsyncConnection, streams: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(streams), CHUNK):
        result = await connection.execute(
            sa.select(rm_stream_versions.c.stream_id, rm_stream_versions.c.version).where(
                rm_stream_versions.c.stream_id.in_(streams[start : start + CHUNK])
            )
        )
        found.update(dict(result.all()))
    return found


async def _lock_versions(connection: AsyncConnection, streams: Sequence[str]) -> dict[str, int]:
    """The applied version of each stream, its row locked until commit (in stream order, so
    two projectors never deadlock): during a rebalance two instances may hold the same
    batch, and the second must see what the first applied, not apply it again."""
    ordered = sorted(set(streams))
    if not ordered:
        return {}
    placeholders = insert_on_conflict(
        connection.dialect, rm_stream_versions
    ).on_conflict_do_nothing()
    await connection.execute(placeholders, [{"stream_id": s, "version": 0} for s in ordered])
    found: dict[str, int] = {}
    for start in range(0, len(ordered), CHUNK):
        result = await connection.execute(
            sa.select(rm_stream_versions.c.stream_id, rm_stream_versions.c.version)
            .where(rm_stream_versions.c.stream_id.in_(ordered[start : start + CHUNK]))
            .order_by(rm_stream_versions.c.stream_id)
            .with_for_update()
        )
        found.update(dict(result.all()))
    return found


async def _save_versions(connection: AsyncConnection, versions: dict[str, int]) -> None:
    if versions:
        await connection.execute(
            upsert(connection.dialect, rm_stream_versions, ["stream_id"], ["version"]),
            [{"stream_id": s, "version": v} for s, v in sorted(versions.items())],
        )


async def _rows(connection: AsyncConnection, ids: set[str]) -> dict[str, InitiativeRow]:
    ordered = sorted(ids)
    rows: dict[str, InitiativeRow] = {}
    for start in range(0, len(ordered), CHUNK):
        result = await connection.execute(
            sa.select(rm_initiatives).where(
                rm_initiatives.c.initiative_id.in_(ordered[start : start + CHUNK])
            )
        )
        for record in result.mappings():
            rows[record["initiative_id"]] = InitiativeRow.from_record(record)
    return rows


async def _save_checkpoint(connection: AsyncConnection, name: str, position: int) -> None:
    await connection.execute(
        upsert(connection.dialect, rm_checkpoints, ["name"], ["position", "updated_at"]),
        [{"name": name, "position": position, "updated_at": dt.datetime.now(dt.UTC)}],
    )
