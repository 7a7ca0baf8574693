"""Migrations build the schema on an empty database, twice in a row, and guard start-up."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from services.owners import OWNERS
from services.projector import bi_views as views
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

    assert list(bi_views["CREATE_VIEWS"]) == views.CREATE_VIEWS
    assert ["DROP VIEW IF EXISTS v_status", *bi_views["DROP_VIEWS"]] == views.DROP_VIEWS
    assert status_view["V_STATUS"] == views.V_STATUS
    assert frozen("0011_published_views.py")["CREATE_PUBLISHED_VIEWS"] == CREATE_PUBLISHED_VIEWS
