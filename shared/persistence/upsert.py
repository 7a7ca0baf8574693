"""``INSERT … ON CONFLICT`` of many rows, for whichever dialect the engine speaks.

On PostgreSQL the rows travel as one array per column and are unpacked by ``unnest``: a
batch of any size is one statement with one parameter set, which asyncpg encodes in C,
instead of one parameter set per row that SQLAlchemy builds in Python. SQLite takes the
same rows as an ``executemany``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pydantic_core import to_json
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.persistence.copy import copy_records

Insert = postgresql.Insert | sqlite.Insert
ARRAY_TEXT = postgresql.ARRAY(sa.Text)


def insert_on_conflict(dialect: Dialect, table: sa.Table) -> Insert:
    """A dialect-specific insert that offers ``on_conflict_do_update`` / ``_do_nothing``."""
    return _insert(dialect.name, table)


def _insert(dialect: str, table: sa.Table) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def upsert(
    dialect: Dialect, table: sa.Table, keys: Sequence[str], update: Sequence[str]
) -> sa.Insert:
    """Insert rows; where a row with the same ``keys`` exists, overwrite the ``update`` columns."""
    statement = insert_on_conflict(dialect, table)
    return statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={column: statement.excluded[column] for column in update},
    )


Conflict = tuple[str, tuple[str, ...], tuple[str, ...]]
"""What an insert does with a row whose key is stored: (``"error"``, (), ()), (``"nothing"``,
(), ()) for any key, (``"overwrite"``, keys, columns) or (``"add"``, keys, columns)."""
RAISE: Conflict = ("error", (), ())
COPY_ROWS = 5_000
"""From how many rows a plain insert on PostgreSQL goes as a binary ``COPY`` instead: half a
million closure rows took 5.7-6.0 s through ``unnest`` and 2.0 s copied, and a rebuild's
first catch-up inserts millions (units, their closure and lineage, targets)."""


@functools.cache
def _statement(
    dialect: str, table: sa.Table, columns: tuple[str, ...], conflict: Conflict
) -> sa.Insert:
    """The insert of rows of ``columns`` into ``table``, built once per shape: building and
    hashing a statement took more Python than the database spends on a small batch. On
    PostgreSQL the rows come as one array parameter per column (:func:`_array_name`)."""
    statement = _insert(dialect, table)
    if dialect == "postgresql":
        statement = statement.from_select(list(columns), _unnest(table, columns))
    action, keys, changed = conflict
    if action == "nothing":
        return statement.on_conflict_do_nothing(index_elements=list(keys) or None)
    if action == "overwrite":
        excluded = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=list(keys), set_={column: excluded[column] for column in changed}
        )
    if action == "add":
        excluded = statement.excluded
        return statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={column: table.c[column] + excluded[column] for column in changed},
        )
    return statement


def _array_name(table: sa.Table, column: str) -> str:
    """A column's array parameter: unique in a :class:`Pending` write, whose parts each
    write a table of their own."""
    return f"{table.name}__{column}"


def _unnest(table: sa.Table, columns: Sequence[str]) -> sa.Select[Any]:
    """``SELECT … FROM unnest(array, array, …)``: one array per column. JSON values travel
    as text and are cast back, as arrays of JSON would need a codec per element type."""
    arrays = []
    for name in columns:
        kind = table.c[name].type
        element = ARRAY_TEXT if isinstance(kind, sa.JSON) else postgresql.ARRAY(kind)
        arrays.append(sa.bindparam(_array_name(table, name), type_=element))
    source = sa.func.unnest(*arrays).table_valued(*columns).render_derived()
    return sa.select(
        *(
            sa.cast(source.c[name], table.c[name].type)
            if isinstance(table.c[name].type, sa.JSON)
            else source.c[name]
            for name in columns
        )
    )


@dataclass(frozen=True)
class Rows:
    """Rows given as tuples in the order of ``columns``, about to be written to ``table`` by
    the statement of their ``conflict``."""

    table: sa.Table
    columns: tuple[str, ...]
    rows: list[Any]
    conflict: Conflict = RAISE

    def statement(self, dialect: Dialect) -> sa.Insert:
        return _statement(dialect.name, self.table, self.columns, self.conflict)

    def arrays(self) -> dict[str, list[Any]]:
        """PostgreSQL's parameters: one array per column."""
        values = list(zip(*self.rows, strict=True)) or [() for _ in self.columns]
        arrays = {}
        for name, column_values in zip(self.columns, values, strict=True):
            json_text = isinstance(self.table.c[name].type, sa.JSON)
            arrays[_array_name(self.table, name)] = (
                [to_json(v).decode() for v in column_values] if json_text else list(column_values)
            )
        return arrays

    def records(self, dialect: Dialect) -> list[Any]:
        """The rows as their columns' own types bind them (an aware instant in UTC, say),
        which an array parameter does for each element."""
        types = [self.table.c[name].type for name in self.columns]
        processors = [
            kind.bind_processor(dialect) if isinstance(kind, sa.TypeDecorator) else None
            for kind in types
        ]
        if not any(processors):
            return self.rows
        return [
            tuple(
                value if bind is None else bind(value)
                for bind, value in zip(processors, row, strict=True)
            )
            for row in self.rows
        ]

    def copies(self, dialect: Dialect) -> bool:
        """Whether these rows go as a binary ``COPY``: many plain inserts, no JSON column
        (the connection's JSON codec is SQLAlchemy's, not asyncpg's)."""
        return (
            dialect.name == "postgresql"
            and self.conflict == RAISE
            and len(self.rows) >= COPY_ROWS
            and not any(isinstance(self.table.c[name].type, sa.JSON) for name in self.columns)
        )

    async def execute(self, connection: AsyncConnection) -> None:
        if not self.rows:
            return
        if self.copies(connection.dialect) and await copy_records(
            connection, self.table, self.columns, self.records(connection.dialect)
        ):
            return
        statement = self.statement(connection.dialect)
        if connection.dialect.name == "postgresql":
            await connection.execute(statement, self.arrays())
        else:
            await connection.execute(
                statement, [dict(zip(self.columns, row, strict=True)) for row in self.rows]
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
        self._parts: list[Rows] = []

    def add(self, batch: Rows) -> None:
        if batch.rows:
            self._parts.append(batch)

    async def flush(self) -> None:
        parts, self._parts = self._parts, []
        dialect = self.connection.dialect
        if dialect.name == "postgresql" and len(parts) > 1:
            if len({part.table.name for part in parts}) < len(parts):
                raise ValueError("the parts of one pending write must write different tables")
            statement = _together(tuple(part.statement(dialect) for part in parts))
            arrays = {name: values for part in parts for name, values in part.arrays().items()}
            await self.connection.execute(statement, arrays)
            return
        for batch in parts:
            await batch.execute(self.connection)


@functools.lru_cache(maxsize=256)
def _together(statements: tuple[sa.Insert, ...]) -> sa.Select[Any]:
    """One statement running ``statements`` as data-modifying ``WITH`` queries, kept per
    combination (a batch writes the same few tables each time)."""
    written = [statement.cte(f"write_{i}") for i, statement in enumerate(statements)]
    return sa.select(sa.literal(1)).add_cte(*written)


Writer = AsyncConnection | Pending
"""Where a helper's statement goes: executed on a connection now, or added to a
:class:`Pending` write."""


async def _write(writer: Writer, batch: Rows) -> None:
    if isinstance(writer, Pending):
        writer.add(batch)
    else:
        await batch.execute(writer)


async def insert_rows(
    writer: Writer, table: sa.Table, columns: Sequence[str], rows: list[Any]
) -> None:
    await _write(writer, Rows(table, tuple(columns), rows))


async def upsert_rows(
    writer: Writer,
    table: sa.Table,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: list[Any],
) -> None:
    """Insert rows; where a row with the same ``keys`` exists, overwrite its other columns."""
    others = tuple(column for column in columns if column not in keys)
    await _write(writer, Rows(table, tuple(columns), rows, ("overwrite", tuple(keys), others)))


async def add_to_rows(
    writer: Writer,
    table: sa.Table,
    keys: Sequence[str],
    counts: Sequence[str],
    rows: list[Any],
) -> None:
    """Add each row's ``counts`` to the stored row with the same ``keys``, or insert it."""
    conflict: Conflict = ("add", tuple(keys), tuple(counts))
    await _write(writer, Rows(table, (*keys, *counts), rows, conflict))


async def ignore_existing(
    connection: AsyncConnection, table: sa.Table, columns: Sequence[str], rows: list[Any]
) -> None:
    """Insert the rows whose key is not stored yet."""
    await Rows(table, tuple(columns), rows, ("nothing", (), ())).execute(connection)
