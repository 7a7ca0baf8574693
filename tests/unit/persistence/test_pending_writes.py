"""Writes gathered for one transaction land as written, in one statement on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.schema import rm_series_daily, rm_stream_versions
from shared.persistence.engine import create_engine
from shared.persistence.upsert import Pending, add_to_rows, upsert_rows

DAY = dt.date(2022, 5, 12)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def test_pending_writes_to_several_tables_land_together(engine: AsyncEngine) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    async with engine.begin() as connection:
        await add_to_rows(
            connection,
            rm_series_daily,
            ["unit_id", "campaign_id", "day"],
            ["submitted", "approved"],
            [("bk", "c", DAY, 5, 1)],
        )
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        pending = Pending(connection)
        await add_to_rows(
            pending,
            rm_series_daily,
            ["unit_id", "campaign_id", "day"],
            ["submitted", "approved"],
            [("bk", "c", DAY, 2, 1), ("qn", "c", DAY, 1, 0)],
        )
        await upsert_rows(
            pending, rm_stream_versions, ["stream_id"], ["stream_id", "version"], [("s-1", 3)]
        )
        await upsert_rows(pending, rm_stream_versions, ["stream_id"], ["stream_id", "version"], [])
        before_flush = len(statements)
        await pending.flush()
        event.remove(engine.sync_engine, "before_cursor_execute", count)

    async with engine.connect() as connection:
        series = (
            await connection.execute(
                sa.select(rm_series_daily.c.unit_id, rm_series_daily.c.submitted).order_by(
                    rm_series_daily.c.unit_id
                )
            )
        ).all()
        versions = (await connection.execute(sa.select(rm_stream_versions))).all()

    assert before_flush == 0, "nothing is sent before the flush"
    assert [tuple(row) for row in series] == [("bk", 7), ("qn", 1)]
    assert [tuple(row) for row in versions] == [("s-1", 3)]
    one_statement = engine.dialect.name == "postgresql"
    assert (len(statements) == 1) is one_statement
