"""Schema migrations (Alembic) and the start-up check that refuses an un-migrated database."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.engine import create_engine

SCRIPT_LOCATION = Path(__file__).parent


class DatabaseNotMigrated(RuntimeError):
    """The database schema is older (or newer) than the code; the service must not start."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade(engine: AsyncEngine) -> str:
    """Bring the schema to the newest revision; a no-op when it is already there."""
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: command.upgrade(_config(sync), "head"))
    return head_revision()


async def ensure_migrated(engine: AsyncEngine) -> None:
    """Raise :class:`DatabaseNotMigrated` unless the schema is exactly at the code's revision."""
    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    expected = head_revision()
    if current != expected:
        raise DatabaseNotMigrated(
            f"the database {engine.url.render_as_string(hide_password=True)} is at schema "
            f"revision {current or 'none (empty)'}, this code needs {expected}: "
            "run `initiatives migrate` first"
        )


async def upgrade_to_head(url: str) -> str:
    """Command-line entry: migrate the database at ``url``; the revision reached."""
    engine = create_engine(url)
    try:
        return await upgrade(engine)
    finally:
        await engine.dispose()
