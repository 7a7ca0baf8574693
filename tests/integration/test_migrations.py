"""Migrations build the schema on an empty database, twice in a row, and guard start-up."""

from __future__ import annotations

import runpy
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.pipeline import IngestPipeline
from services.owners import OWNERS
from services.projector import bi_views as views
from services.projector.projection import Projection
from services.samples.portal_events import reviewed, small_tree, submitted
from shared.eventstore.sql import SqlEventStore
from shared.persistence import migrations
from shared.persistence.engine import create_engine
from shared.persistence.migrations import (
    DatabaseNotMigrated,
    ensure_migrated,
    head_revision,
    upgrade,
)
from shared.persistence.published import CREATE_PUBLISHED_VIEWS


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


async def test_services_refuse_an_unmigrated_database_then_accept_it_after_upgrade(
    empty_database_url: str,
) -> None:
    engine = create_engine(empty_database_url)
    try:
        with pytest.raises(DatabaseNotMigrated, match="run `initiatives migrate` first"):
            await ensure_migrated(engine)
        assert await upgrade(engine) == head_revision()
        assert await upgrade(engine) == head_revision()
        await ensure_migrated(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            drift = await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync), list(OWNERS.values())
                )
            )
    finally:
        await engine.dispose()

    assert {"events", "outbox", "alembic_version"} <= set(tables)
    assert drift == []


def test_the_migrate_command_is_idempotent(empty_database_url: str) -> None:
    def migrate() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "services.cli", "migrate"],
            env={"DATABASE_URL": empty_database_url, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    first, second = migrate(), migrate()

    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert (
        first.stdout.strip() == second.stdout.strip() == f"database at revision {head_revision()}"
    )


def frozen(migration: str) -> dict[str, Any]:
    return runpy.run_path(str(Path(migrations.__file__).parent / "versions" / migration))


def test_the_views_migrations_create_the_views_the_code_defines() -> None:
    """Each migration froze the SQL it ran; the code's views must still be that SQL, or a new
    migration has to replace them (the code would otherwise describe views no database has)."""
    bi_views, status_view = frozen("0005_bi_views.py"), frozen("0010_status_view.py")
    breakdowns = frozen("0019_breakdowns_without_own_initiatives.py")
    series = frozen("0020_series_without_own_initiatives.py")
    replaced = [series["V_SERIES_0005"], breakdowns["V_BREAKDOWNS_0005"]]

    assert [view for view in bi_views["CREATE_VIEWS"] if view not in replaced] == views.CREATE_VIEWS
    assert all(view in bi_views["CREATE_VIEWS"] for view in replaced)
    assert breakdowns["V_BREAKDOWNS"] == views.V_BREAKDOWNS
    assert breakdowns["OWN_BREAKDOWNS"] == {d: views.own_breakdowns(d) for d in views.Dialect}
    assert series["V_SERIES"] == views.V_SERIES
    assert series["OWN_SERIES"] == views.own_series()
    assert ["DROP VIEW IF EXISTS v_status", *bi_views["DROP_VIEWS"]] == views.DROP_VIEWS
    assert status_view["V_STATUS"] == views.V_STATUS
    assert frozen("0011_published_views.py")["CREATE_PUBLISHED_VIEWS"] == CREATE_PUBLISHED_VIEWS


READ = {
    "rm_initiatives": 1,
    "rm_rollup_daily": 3,
    "rm_breakdowns": 4,
    "rm_series_daily": 3,
    "v_breakdowns": 0,
    "v_series": 0,
}
"""Each relation compared, with the length of its key (0: its rows as a sorted list)."""


async def _read(engine: AsyncEngine) -> dict[str, Any]:
    found: dict[str, Any] = {}
    async with engine.connect() as connection:
        for name, key in READ.items():
            rows = (await connection.execute(sa.text(f"SELECT * FROM {name}"))).all()
            found[name] = (
                {tuple(row[:key]): tuple(row[key:]) for row in rows} if key else sorted(rows)
            )
    return found


async def _migrate(engine: AsyncEngine, step: Callable[[Config, str], None], to: str) -> None:
    def run(connection: sa.Connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(migrations.SCRIPT_LOCATION))
        config.attributes["connection"] = connection
        step(config, to)

    async with engine.begin() as connection:
        await connection.run_sync(run)
    # The services start anew after a migration; so does the pool, whose prepared statements
    # the changed view has invalidated.
    await engine.dispose()


async def test_0018_to_0020_take_units_own_initiatives_out_of_their_rows_and_back(
    empty_database_url: str,
) -> None:
    """A database projected before 0018 counted a unit's own initiatives in its rollup,
    breakdown and series rows; after 0018 to 0020 they are counted on read. Downgrading gives
    the old rows back (each unit's sum is its subtree's count), upgrading again the rows the
    projector now writes, with the local days of approvals and withdrawals read in the
    campaign's own zone, and the views read the same before and after. The district's own
    submission on the day a submission below it was withdrawn had no series row before (+1
    and -1) and has one after (-1, the day below it)."""
    engine = create_engine(empty_database_url)
    tree = small_tree()
    tree[0]["data"]["time_zone"] = "Asia/Tokyo"
    facts = [
        *tree,
        submitted("i1", "bk-cdcs-1", at="2022-05-12T08:00:00+07:00"),
        submitted("i2", "bk-cdcs-1", at="2022-05-13T08:00:00+07:00"),
        submitted("i3", "bk-bt", at="2022-05-12T10:00:00+07:00"),
        reviewed("initiative.withdrawn", "i2", at="2022-05-14T17:00:00+07:00"),
        submitted("i4", "bk-bt", at="2022-05-14T09:00:00+07:00"),
        reviewed("initiative.approved", "i1", at="2022-05-14T23:30:00+07:00"),
    ]
    try:
        await upgrade(engine)
        store = SqlEventStore(engine, outbox=False)
        await IngestPipeline(store).submit(facts)
        projection = Projection(engine, store)
        await projection.start()
        await projection.apply([r async for r in store.read_all()])
        projected = await _read(engine)

        await _migrate(engine, command.downgrade, "0017")
        before = await _read(engine)
        await _migrate(engine, command.upgrade, "head")
        again = await _read(engine)
    finally:
        await engine.dispose()

    subtree: defaultdict[object, int] = defaultdict(int)
    for (unit_id, _, _), counts in before["rm_rollup_daily"].items():
        subtree[unit_id] += sum(counts)
    solutions = {
        key[0]: counts[0]
        for key, counts in before["rm_breakdowns"].items()
        if key[2] == "solution_type"
    }
    assert dict(subtree) == {"bk-cdcs-1": 2, "bk-bt": 4, "bk": 4, "vn": 4}
    assert solutions == {"bk-cdcs-1": 1, "bk-bt": 3, "bk": 3, "vn": 3}  # i2 is withdrawn
    for table in ("rm_rollup_daily", "rm_breakdowns", "rm_series_daily"):
        assert {key[0] for key in projected[table]} == {"bk-bt", "bk", "vn"}
    district = {  # days as text: SQLite's plain SELECT hands back text
        str(key[2]): counts
        for key, counts in projected["rm_series_daily"].items()
        if key[0] == "bk-bt"
    }
    assert district == {
        "2022-05-12": (1, 0),
        "2022-05-13": (1, 0),
        "2022-05-14": (-1, 0),
        "2022-05-15": (0, 1),  # 23:30 in Hà Nội is past midnight in Tokyo
    }
    assert ("bk-bt", "2022-05-14") not in {
        (key[0], str(key[2])) for key in before["rm_series_daily"]
    }
    assert again == projected
    assert before["v_breakdowns"] == projected["v_breakdowns"]
    assert before["v_series"] == projected["v_series"]
    assert len(projected["v_breakdowns"]) == 4 * 3
