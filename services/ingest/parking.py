"""The parking lot: facts that refer to a unit, campaign or initiative not known yet.

Portals deliver out of order across initiatives and across channels, so a review can
overtake its submission. Such a fact waits here (durably, so the Kafka batch that brought
it can be acknowledged) and is retried until ``retry_until``; then it is dead-lettered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.schema import parked_events
from shared.clock import Clock, utc_now
from shared.dead_letters import Origin, Selection
from shared.persistence.upsert import insert_on_conflict


@dataclass(frozen=True)
class ParkedEvent:
    event_id: str
    raw: str
    code: str
    message: str
    origin: Origin
    parked_at: dt.datetime
    retry_until: dt.datetime
    attempts: int


@dataclass(frozen=True)
class ParkingSummary:
    size: int
    oldest: dt.datetime | None


class ParkingLot:
    def __init__(self, engine: AsyncEngine, hold: dt.timedelta, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._hold = hold
        self._clock = clock

    async def park(self, items: Sequence[tuple[str, str, str, str, Origin]]) -> None:
        """Park ``(event_id, raw, code, message, origin)``; parking again counts an attempt."""
        if not items:
            return
        now = self._clock()
        async with self._engine.begin() as connection:
            statement = insert_on_conflict(connection.dialect, parked_events)
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["event_id"],
                    set_={
                        "code": statement.excluded.code,
                        "message": statement.excluded.message,
                        "attempts": parked_events.c.attempts + 1,
                        "last_attempt_at": statement.excluded.last_attempt_at,
                    },
                ),
                [
                    {
                        "event_id": event_id,
                        "raw": raw,
                        "code": code,
                        "message": message,
                        "origin": origin.as_dict(),
                        "parked_at": now,
                        "retry_until": now + self._hold,
                        "last_attempt_at": now,
                        "attempts": 1,
                    }
                    for event_id, raw, code, message, origin in items
                ],
            )

    async def take(self, limit: int) -> list[ParkedEvent]:
        """The parked facts tried least recently, so a stuck head cannot starve the rest."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                sa.select(parked_events)
                .order_by(parked_events.c.last_attempt_at, parked_events.c.parked_at)
                .limit(limit)
            )
            return [_parked(row) for row in rows]

    async def find(self, selection: Selection) -> list[ParkedEvent]:
        """The selected facts for an operator, longest parked first."""
        conditions = selection.where(parked_events.c.code, parked_events.c.parked_at)
        async with self._engine.connect() as connection:
            rows = await connection.execute(
                sa.select(parked_events)
                .where(*conditions)
                .order_by(parked_events.c.parked_at, parked_events.c.event_id)
                .limit(selection.limit)
            )
            return [_parked(row) for row in rows]

    async def count(self, selection: Selection) -> int:
        conditions = selection.where(parked_events.c.code, parked_events.c.parked_at)
        async with self._engine.connect() as connection:
            total = await connection.scalar(
                sa.select(sa.func.count()).select_from(parked_events).where(*conditions)
            )
        return int(total or 0)

    async def release(self, event_ids: Collection[str]) -> None:
        if not event_ids:
            return
        async with self._engine.begin() as connection:
            await connection.execute(
                parked_events.delete().where(parked_events.c.event_id.in_(list(event_ids)))
            )

    async def summary(self) -> ParkingSummary:
        async with self._engine.connect() as connection:
            size, oldest = (
                await connection.execute(
                    sa.select(sa.func.count(), sa.func.min(parked_events.c.parked_at))
                )
            ).one()
        return ParkingSummary(int(size), oldest)


def _parked(row: sa.Row[Any]) -> ParkedEvent:
    return ParkedEvent(
        event_id=row.event_id,
        raw=row.raw,
        code=row.code,
        message=row.message,
        origin=Origin.from_dict(row.origin),
        parked_at=row.parked_at,
        retry_until=row.retry_until,
        attempts=row.attempts,
    )
