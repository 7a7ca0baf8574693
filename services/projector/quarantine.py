"""Streams the projector stopped at an event it could not apply, and the events held behind it.

An event that cannot be applied (a value no rule can read, a stored row the database refuses,
a gap in its stream) must neither stop the projector nor be skipped with its stream's later
events built on top of it. It is quarantined: its stream stops at that version, the events
that follow it wait in the event store (counted here as ``held``), and every other stream
flows on. After a fix, ``initiatives quarantine retry`` applies each stream from where it
stopped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector.schema import rm_quarantine
from shared.eventstore.schema import events
from shared.persistence.lookup import among
from shared.persistence.upsert import upsert

STREAM_GAP = "stream_gap"
UNAPPLICABLE = "unapplicable"


@dataclass(frozen=True)
class Quarantined:
    stream_id: str
    version: int
    position: int
    type: str
    code: str
    reason: str
    held: int = 0
    """Later events of the stream waiting behind it."""
    event_id: str | None = None
    """The portal's id of the event (the store keeps it; a rebuild's reads do not carry it)."""
    quarantined_at: dt.datetime | None = None


async def stopped_at(connection: AsyncConnection, streams: Sequence[str]) -> dict[str, int]:
    """The version each of ``streams`` is quarantined at (streams not quarantined are absent)."""
    found: dict[str, int] = {}
    for condition in among(connection.dialect, rm_quarantine.c.stream_id, streams):
        result = await connection.execute(
            sa.select(rm_quarantine.c.stream_id, rm_quarantine.c.version).where(condition)
        )
        found.update(dict(result.all()))
    return found


async def record(
    connection: AsyncConnection, quarantined: Sequence[Quarantined], now: dt.datetime
) -> None:
    if not quarantined:
        return
    columns = ["version", "position", "type", "code", "reason", "quarantined_at"]
    await connection.execute(
        upsert(connection.dialect, rm_quarantine, ["stream_id"], columns),
        [
            {
                "stream_id": q.stream_id,
                "version": q.version,
                "position": q.position,
                "type": q.type,
                "code": q.code,
                "reason": q.reason,
                "quarantined_at": now,
            }
            for q in quarantined
        ],
    )


async def listed(connection: AsyncConnection, streams: Collection[str] = ()) -> list[Quarantined]:
    """Every quarantined stream (or those of ``streams``), oldest first, with the portal's
    id of the event it stopped at and the number of later events waiting in the store."""
    event_id = (
        sa.select(events.c.event_id)
        .where(events.c.position == rm_quarantine.c.position)
        .scalar_subquery()
        .label("event_id")
    )
    behind = (
        sa.select(sa.func.count())
        .where(
            events.c.stream_id == rm_quarantine.c.stream_id,
            events.c.stream_version > rm_quarantine.c.version,
        )
        .scalar_subquery()
        .label("held")
    )
    query = sa.select(rm_quarantine, behind, event_id).order_by(rm_quarantine.c.position)
    if streams:
        query = query.where(rm_quarantine.c.stream_id.in_(sorted(streams)))
    return [_quarantined(row) for row in (await connection.execute(query)).mappings()]


async def count(connection: AsyncConnection) -> int:
    return int(await connection.scalar(sa.select(sa.func.count()).select_from(rm_quarantine)) or 0)


class QuarantineNotEmpty(RuntimeError):
    """Readiness fails while events wait in quarantine: the read models are incomplete."""


def quarantine_clear(engine: AsyncEngine, gauge: Gauge) -> Callable[[], Awaitable[None]]:
    """A readiness check that fails while any stream is quarantined (and keeps ``gauge``,
    which the alert watches, current)."""

    async def check() -> None:
        async with engine.connect() as connection:
            waiting = await count(connection)
        gauge.set(waiting)
        if waiting:
            raise QuarantineNotEmpty(
                f"{waiting} stream(s) stopped at an event that cannot be applied; "
                "see `initiatives projector quarantine list`"
            )

    return check


async def release(connection: AsyncConnection, streams: Sequence[str]) -> None:
    if streams:
        await connection.execute(
            sa.delete(rm_quarantine).where(rm_quarantine.c.stream_id.in_(list(streams)))
        )


def _quarantined(row: sa.RowMapping) -> Quarantined:
    return Quarantined(
        stream_id=row["stream_id"],
        version=row["version"],
        position=row["position"],
        type=row["type"],
        code=row["code"],
        reason=row["reason"],
        held=row["held"],
        event_id=row["event_id"],
        quarantined_at=row["quarantined_at"],
    )
