"""The published views keep their contract: the columns they declare, the rows beneath.

Readers in other services query ``shared.persistence.published``; an owner reshaping its
tables must keep these views answering the same columns and meaning, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.engine import create_engine
from shared.persistence.published import (
    metadata,
    published_decisions,
    published_unit_closure,
    published_units,
)
from tests.published import publish_decisions, publish_units

DECIDED = dt.datetime(2022, 6, 1, 0, 5, tzinfo=dt.UTC)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.mark.parametrize("view", sorted(metadata.tables))
async def test_each_view_has_exactly_the_declared_columns(engine: AsyncEngine, view: str) -> None:
    async with engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: [column["name"] for column in sa.inspect(sync).get_columns(view)]
        )
        views = await connection.run_sync(lambda sync: sa.inspect(sync).get_view_names())

    assert view in views
    assert columns == [column.name for column in metadata.tables[view].columns]


async def test_the_unit_views_show_the_units_and_the_tree_now(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await publish_units(
            connection,
            [("bk", "LĐLĐ tỉnh Bắc Kạn", None), ("bk-bb", "LĐLĐ huyện Ba Bể", "bk")],
        )
    async with engine.connect() as connection:
        units = (await connection.execute(sa.select(published_units))).all()
        closure = (
            await connection.execute(
                sa.select(published_unit_closure).order_by(
                    published_unit_closure.c.descendant_id, published_unit_closure.c.depth
                )
            )
        ).all()

    assert {(row.unit_id, row.name, row.parent_id) for row in units} == {
        ("bk", "LĐLĐ tỉnh Bắc Kạn", None),
        ("bk-bb", "LĐLĐ huyện Ba Bể", "bk"),
    }
    assert [tuple(row) for row in closure] == [
        ("bk", "bk", 0),
        ("bk-bb", "bk-bb", 0),
        ("bk", "bk-bb", 1),
    ]


async def test_the_decisions_view_lists_decisions_in_the_order_taken(engine: AsyncEngine) -> None:
    decision = {
        "unit_id": "bk",
        "campaign_id": "1trieu",
        "phase_id": "1",
        "rule": "missed",
        "threshold": None,
        "value": 555,
        "target": 675,
        "details": {"shortfall": 120},
        "decided_at": DECIDED,
    }
    async with engine.begin() as connection:
        ids = await publish_decisions(
            connection,
            [
                decision | {"key": "bk/1/outcome"},
                decision | {"key": "bk/2/outcome", "phase_id": "2"},
            ],
        )
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.select(published_decisions).order_by(published_decisions.c.id)
            )
        ).all()

    assert [row.id for row in rows] == ids
    assert [(row.phase_id, row.value, row.target, row.details) for row in rows] == [
        ("1", 555, 675, {"shortfall": 120}),
        ("2", 555, 675, {"shortfall": 120}),
    ]
    assert rows[0].decided_at == DECIDED
