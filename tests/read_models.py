"""Read-model tables as plain sorted rows, to compare two projections of the same events."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.rebuild import READ_MODELS
from shared.persistence.schema import rm_checkpoints, rm_quarantine

WHEN_WRITTEN = {rm_quarantine.c.quarantined_at}
"""Columns that say when a row was written, not what the events mean."""


async def dump(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    tables = {}
    async with engine.connect() as connection:
        for table in READ_MODELS:
            if table is rm_checkpoints:
                continue
            columns = [column for column in table.columns if column not in WHEN_WRITTEN]
            rows = (await connection.execute(sa.select(*columns))).all()
            tables[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return tables
