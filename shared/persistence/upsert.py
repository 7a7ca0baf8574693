"""``INSERT … ON CONFLICT`` of many rows, for whichever dialect the engine speaks.

On PostgreSQL the rows travel as one array per column and are unpacked by ``unnest``: a
batch of any size is one statement with one parameter set, which asyncpg encodes in C,
instead of one parameter set per row that SQLAlchemy builds in Python. SQLite takes the
same rows as an ``executemany``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

Insert = postgresql.Insert | sqlite.Insert
ARRAY_TEXT = postgresql.ARRAY(sa.Text)


def insert_on_conflict(dialect: Dialect, table: sa.Table) -> Insert:
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


class Rows:
    """Rows given as tuples in the order of ``columns``, about to be inserted into ``table``."""

    rows: list[Any]

    def __init__(
        self, connection: AsyncConnection, table: sa.Table, columns: Sequence[str], rows: list[Any]
    ) -> None:
        self._connection = connection
        self._table = table
        self._columns = list(columns)
        self.rows = rows
        self.statement = insert_on_conflict(connection.dialect, table)
        if connection.dialect.name == "postgresql":
            self.statement = postgresql.insert(table).from_select(
                self._columns, _unnest(table, self._columns, rows)
            )

    async def execute(self, statement: sa.Insert | None = None) -> None:
        """Run ``statement`` (this insert, perhaps given an ``ON CONFLICT`` clause)."""
        if not self.rows:
            return
        statement = self.statement if statement is None else statement
        if self._connection.dialect.name == "postgresql":
            await self._connection.execute(statement)
        else:
            await self._connection.execute(
                statement, [dict(zip(self._columns, row, strict=True)) for row in self.rows]
            )


class Pending:
    """Writes of one transaction gathered, then sent to PostgreSQL as one statement whose
    parts are data-modifying ``WITH`` queries: one round trip instead of one per table,
    which is most of a small batch's time. Other dialects run them one by one.

    PostgreSQL runs every part on the same snapshot, so the parts must write different
    tables and none may read what another writes. The parts lock their rows in the same
    order for the same list of tables, so two writers of the same aggregate rows still take
    their locks in one order.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self._parts: list[tuple[Rows, Insert]] = []

    def add(self, batch: Rows, statement: Insert) -> None:
        if batch.rows:
            self._parts.append((batch, statement))

    async def flush(self) -> None:
        parts, self._parts = self._parts, []
        if self.connection.dialect.name == "postgresql" and len(parts) > 1:
            written = [statement.cte(f"write_{i}") for i, (_, statement) in enumerate(parts)]
            await self.connection.execute(sa.select(sa.literal(1)).add_cte(*written))
            return
        for batch, statement in parts:
            await batch.execute(statement)


Writer = AsyncConnection | Pending
"""Where a helper's statement goes: executed on a connection now, or added to a
:class:`Pending` write."""


async def _write(writer: Writer, batch: Rows, statement: Insert) -> None:
    if isinstance(writer, Pending):
        writer.add(batch, statement)
    else:
        await batch.execute(statement)


def _connection(writer: Writer) -> AsyncConnection:
    return writer.connection if isinstance(writer, Pending) else writer


def _unnest(
    table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> sa.Select[Any]:
    """``SELECT … FROM unnest(array, array, …)``: one array per column. JSON values travel
    as text and are cast back, as arrays of JSON would need a codec per element type."""
    values = list(zip(*rows, strict=True)) or [() for _ in columns]
    arrays = []
    for name, column_values in zip(columns, values, strict=True):
        kind = table.c[name].type
        if isinstance(kind, sa.JSON):
            arrays.append(sa.bindparam(None, [json.dumps(v) for v in column_values], ARRAY_TEXT))
        else:
            arrays.append(sa.bindparam(None, list(column_values), postgresql.ARRAY(kind)))
    source = sa.func.unnest(*arrays).table_valued(*columns).render_derived()
    return sa.select(
        *(
            sa.cast(source.c[name], table.c[name].type)
            if isinstance(table.c[name].type, sa.JSON)
            else source.c[name]
            for name in columns
        )
    )


async def insert_rows(
    writer: Writer, table: sa.Table, columns: Sequence[str], rows: list[Any]
) -> None:
    batch = Rows(_connection(writer), table, columns, rows)
    await _write(writer, batch, batch.statement)


async def upsert_rows(
    writer: Writer,
    table: sa.Table,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: list[Any],
) -> None:
    """Insert rows; where a row with the same ``keys`` exists, overwrite its other columns."""
    batch = Rows(_connection(writer), table, columns, rows)
    excluded = batch.statement.excluded
    await _update_on_conflict(
        writer, batch, keys, {column: excluded[column] for column in columns if column not in keys}
    )


async def add_to_rows(
    writer: Writer,
    table: sa.Table,
    keys: Sequence[str],
    counts: Sequence[str],
    rows: list[Any],
) -> None:
    """Add each row's ``counts`` to the stored row with the same ``keys``, or insert it."""
    batch = Rows(_connection(writer), table, [*keys, *counts], rows)
    excluded = batch.statement.excluded
    await _update_on_conflict(
        writer, batch, keys, {column: table.c[column] + excluded[column] for column in counts}
    )


async def _update_on_conflict(
    writer: Writer, batch: Rows, keys: Sequence[str], values: dict[str, Any]
) -> None:
    """Insert ``batch``; where a row with the same ``keys`` exists, set ``values`` instead."""
    await _write(
        writer,
        batch,
        batch.statement.on_conflict_do_update(index_elements=list(keys), set_=values),
    )


async def ignore_existing(
    connection: AsyncConnection, table: sa.Table, columns: Sequence[str], rows: list[Any]
) -> None:
    """Insert the rows whose key is not stored yet."""
    batch = Rows(connection, table, columns, rows)
    await batch.execute(batch.statement.on_conflict_do_nothing())
