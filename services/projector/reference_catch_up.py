"""The reference data a projection folds against, kept level with the read models.

Both runners (the live :class:`~services.projector.projection.Projection` and the rebuild's
:class:`~services.projector.replay.Replay`) read units, plans and campaigns from the reference
stream of the store, never from a partition, so they are known before the initiatives that
name them. This keeps the in-memory view at the version the tables hold, applies the facts
the tables lack, and stops where a quarantined reference fact stops the stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector import quarantine
from services.projector.attribution import Attribution
from services.projector.fold import Recorded, streams_of
from services.projector.structure import Applied, apply_references
from services.projector.tables import lock_versions, save_versions, versions
from shared.contracts.base import REFERENCE_STREAM
from shared.eventstore.port import EventStore
from shared.reference import ReferenceView

R = TypeVar("R", bound=Recorded)


class ReferenceCatchUp:
    def __init__(self, engine: AsyncEngine, store: EventStore) -> None:
        self._engine = engine
        self._store = store
        self.view = ReferenceView(store)
        self._memo = Attribution(self.view)
        self._stop: int | None = None
        """The last reference version to apply while the stream is quarantined."""
        self.trial: int | None = None
        """The last reference version to try while settling finds the one that fails."""

    async def start(self) -> None:
        """Rebuild the view up to the version the read models already include."""
        self.view = ReferenceView(self._store)
        self.view.until = self._limit()
        async with self._engine.connect() as connection:
            applied = (await versions(connection, [REFERENCE_STREAM])).get(REFERENCE_STREAM, 0)
        while self.view.version < applied and (page := await self.view.next_page()):
            for record in page:
                if record.stream_version > applied:
                    return
                self.view.apply(record)

    async def is_current(self) -> bool:
        """Whether the view holds every reference fact in the store: then a rebuild's next
        batch folds the same way whether or not the previous batch's writes have committed."""
        return not await self._store.read_stream(REFERENCE_STREAM, self.view.version, limit=1)

    async def hold(self, connection: AsyncConnection, facts: Sequence[R]) -> tuple[list[R], int]:
        """The facts of streams not quarantined, and how many were held; also learns where
        the reference stream stops."""
        stopped = await quarantine.stopped_at(connection, [REFERENCE_STREAM, *streams_of(facts)])
        reference = stopped.pop(REFERENCE_STREAM, None)
        self._stop = None if reference is None else reference - 1
        if not stopped:
            return list(facts), 0
        kept = [r for r in facts if r.stream_id not in stopped]
        return kept, len(facts) - len(kept)

    async def catch_up(self, connection: AsyncConnection) -> Applied:
        """Bring view and tables to the newest reference version; what that changed.

        Facts the tables already hold (applied by another projector instance, or present in
        tables swapped in by a rebuild) only move the view; the rest are applied under a
        lock on the reference version, so exactly one instance applies each one.
        """
        durable = (await versions(connection, [REFERENCE_STREAM])).get(REFERENCE_STREAM, 0)
        limit = self._limit()
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

    def attribution(self) -> Attribution:
        """Memoised lookups, kept while the view stays as it is."""
        if not self._memo.current(self.view):
            self._memo = Attribution(self.view)
        return self._memo

    def _limit(self) -> int | None:
        limits = [v for v in (self._stop, self.trial) if v is not None]
        return min(limits) if limits else None
