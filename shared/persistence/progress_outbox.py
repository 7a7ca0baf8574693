"""The projector's outbox of progress changes: read oldest first, forgotten once handled.

The projector relays it to Kafka; the notifier, in the embedded one-process mode, drains it
itself. Both read and delete it the same way, here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.lookup import among
from shared.persistence.schema import progress_outbox


@dataclass(frozen=True)
class Waiting:
    rows: list[tuple[int, dict[str, Any]]]
    """(row id, payload) of the oldest waiting changes."""
    backlog: int
    """How many changes wait in all."""


async def oldest(engine: AsyncEngine, limit: int) -> Waiting:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(progress_outbox.c.id, progress_outbox.c.payload)
            .order_by(progress_outbox.c.id)
            .limit(limit)
        )
        taken = [(int(row_id), payload) for row_id, payload in rows]
        backlog = len(taken)
        if backlog == limit:  # only then can more wait, and counting them costs a scan
            counted = await connection.scalar(
                sa.select(sa.func.count()).select_from(progress_outbox)
            )
            backlog = int(counted or 0)
    return Waiting(taken, backlog)


async def forget(engine: AsyncEngine, row_ids: Sequence[int]) -> None:
    if row_ids:
        async with engine.begin() as connection:
            for condition in among(connection.dialect, progress_outbox.c.id, row_ids):
                await connection.execute(progress_outbox.delete().where(condition))
