"""The projector's outbox of progress changes: claimed oldest first, deleted once handled.

The projector relays it to Kafka; the notifier, in the embedded mode, drains it itself. Both
claim and delete it the same way, here.

On PostgreSQL several instances may drain it at once: a claim locks its rows
(``FOR UPDATE SKIP LOCKED``) in a transaction that stays open while they are delivered and
deletes them in it, so another instance takes the next rows and never the same ones. A
claim also leaves out a unit's rows behind an older row of that unit another instance
holds, so a unit's changes are delivered in outbox order whoever delivers them. SQLite is
one process, has no row locks, and fails a read transaction upgraded to a write after
another writer committed (``SQLITE_BUSY``): there the rows are read, then deleted in a
transaction of their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.persistence.lookup import among
from shared.persistence.types import Json, Position, UtcDateTime

metadata = sa.MetaData()

progress_outbox = sa.Table(
    "progress_outbox",
    metadata,
    sa.Column("id", Position, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.String(128), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # Ids are the changes' sequence: SQLite must never reuse one after the outbox empties.
    sqlite_autoincrement=True,
)
"""Owned by the projector, which writes it in the transaction of the figures it reports;
it is the projector's published channel of changes, the notifier's input in embedded mode."""


@dataclass(frozen=True)
class Waiting:
    rows: list[tuple[int, dict[str, Any]]]
    """(row id, payload) of the oldest claimed changes; each payload's ``sequence`` is its
    row id, the change's place in the outbox (``ProgressChanged.sequence``)."""
    backlog: int
    """How many changes wait in all, claimed by anyone or not."""


@asynccontextmanager
async def claim(engine: AsyncEngine, limit: int) -> AsyncIterator[Waiting]:
    """The oldest waiting changes, at most ``limit``, deleted when the block exits without
    an exception; with one, they stay for the next claim."""
    if engine.dialect.name == "postgresql":
        async with engine.begin() as connection:
            waiting = await _read(connection, _claimable(limit), count_from=0)
            yield waiting
            await _delete(connection, waiting)
        return
    async with engine.connect() as connection:
        waiting = await _read(connection, _first(limit), count_from=limit)
    yield waiting
    async with engine.begin() as connection:
        await _delete(connection, waiting)


async def backlog(engine: AsyncEngine) -> int:
    """How many changes wait, claimed or not."""
    async with engine.connect() as connection:
        return await _count(connection)


def _first(limit: int) -> sa.Select[tuple[int, Any]]:
    return (
        sa.select(progress_outbox.c.id, progress_outbox.c.payload)
        .order_by(progress_outbox.c.id)
        .limit(limit)
    )


def _claimable(limit: int) -> sa.Select[tuple[int, Any]]:
    """The oldest rows no one holds, locked, less each unit's rows behind an older row of
    that unit they leave out (held by another instance). The held rows are found once, as
    the rows older than the newest locked one that are not locked (few, and the bound lets
    the index find them), and kept apart (``MATERIALIZED``): checked per locked row, each
    check scanned every older row, a thousand rows' claim taking a tenth of a second."""
    locked = (
        sa.select(progress_outbox.c.id, progress_outbox.c.unit_id, progress_outbox.c.payload)
        .order_by(progress_outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("locked")
    )
    held = (
        sa.select(progress_outbox.c.id, progress_outbox.c.unit_id)
        .where(
            progress_outbox.c.id < sa.select(sa.func.max(locked.c.id)).scalar_subquery(),
            progress_outbox.c.id.not_in(sa.select(locked.c.id)),
        )
        .cte("held")
        .prefix_with("MATERIALIZED")
    )
    held_before = (
        sa.select(held.c.id)
        .where(held.c.unit_id == locked.c.unit_id, held.c.id < locked.c.id)
        .exists()
    )
    return sa.select(locked.c.id, locked.c.payload).where(~held_before).order_by(locked.c.id)


async def _read(
    connection: AsyncConnection, query: sa.Select[tuple[int, Any]], *, count_from: int
) -> Waiting:
    """The rows of ``query``; the backlog is counted (a scan) only from ``count_from``
    rows: alone, the limit (fewer means none wait behind); with other instances, always
    (they may hold rows this one does not see)."""
    rows = [
        (int(row_id), {**payload, "sequence": int(row_id)})
        for row_id, payload in await connection.execute(query)
    ]
    backlog = len(rows)
    if backlog >= count_from:
        backlog = await _count(connection)
    return Waiting(rows, backlog)


async def _count(connection: AsyncConnection) -> int:
    counted = await connection.scalar(sa.select(sa.func.count()).select_from(progress_outbox))
    return int(counted or 0)


async def _delete(connection: AsyncConnection, waiting: Waiting) -> None:
    row_ids = [row_id for row_id, _ in waiting.rows]
    for condition in among(connection.dialect, progress_outbox.c.id, row_ids):
        await connection.execute(progress_outbox.delete().where(condition))
