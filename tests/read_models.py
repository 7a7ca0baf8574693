"""Read-model tables as plain sorted rows, to compare two projections of the same events."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.rebuild import READ_MODELS
from shared.persistence.schema import rm_checkpoints


async def dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    async with engine.connect() as connection:
        for table in READ_MODELS:
            if table is rm_checkpoints:
                continue
            rows = (await connection.execute(sa.select(table))).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables
