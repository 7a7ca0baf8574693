"""Read-model tables as plain sorted rows, to compare two projections of the same events."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.verify import COMPARED, compared_columns


async def dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    async with engine.connect() as connection:
        for table in COMPARED:
            rows = (await connection.execute(sa.select(*compared_columns(table)))).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables
