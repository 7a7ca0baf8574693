"""``INSERT … ON CONFLICT`` for whichever dialect the engine speaks (PostgreSQL or SQLite)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect


def insert_on_conflict(dialect: Dialect, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """A dialect-specific insert that offers ``on_conflict_do_update`` / ``_do_nothing``."""
    if dialect.name == "postgresql":
        return postgresql.insert(table)
    if dialect.name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {dialect.name} dialect")


def upsert(
    dialect: Dialect, table: sa.Table, keys: Sequence[str], update: Sequence[str]
) -> sa.Insert:
    """Insert rows; where a row with the same ``keys`` exists, overwrite the ``update`` columns."""
    statement = insert_on_conflict(dialect, table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={column: statement.excluded[column] for column in update},
    )
