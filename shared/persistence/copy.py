"""Frames written and read with PostgreSQL's ``COPY``, as CSV the columnar engine encodes
and decodes: no Python object per row or value on either side.

A batch insert through ``unnest`` (:mod:`shared.persistence.upsert`) makes a Python object of
every value and asyncpg checks and encodes each one; at millions of rows that is most of a
rebuild's time. Here Polars writes the CSV in native code and the server parses it.

Every function runs in the caller's transaction, on the connection SQLAlchemy holds, and
honours its ``schema_translate_map`` (the rebuild's shadow schema).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection


async def _driver(connection: AsyncConnection, *, writing: bool) -> Any:
    """The asyncpg connection under ``connection``; a write must come inside the transaction
    SQLAlchemy has begun on it (SQLAlchemy begins at the first statement, and a ``COPY`` sent
    before that would commit on its own)."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if driver is None or (writing and not driver.is_in_transaction()):
        raise RuntimeError("COPY writes only inside a transaction that has run a statement")
    return driver


def _translated(connection: AsyncConnection) -> dict[str | None, str | None]:
    options = (
        connection.sync_connection.get_execution_options() if connection.sync_connection else {}
    )
    return dict(options.get("schema_translate_map") or {})


def _schema_of(connection: AsyncConnection, table: sa.Table) -> str | None:
    """The schema ``table`` is written in on ``connection`` (``None``: the search path)."""
    translate = _translated(connection)
    schema = translate.get(table.schema, table.schema)
    return None if schema is None else str(schema)


def qualified_name(connection: AsyncConnection, table: sa.Table, name: str | None = None) -> str:
    """``table``'s name (or ``name``, a table beside it) quoted for SQL text, in the schema
    ``table`` is written in on ``connection``."""
    schema = _schema_of(connection, table)
    quoted = f'"{name or table.name}"'
    return quoted if schema is None else f'"{schema}".{quoted}'


def as_csv(frame: pl.DataFrame) -> bytes:
    """``frame`` as ``COPY … (FORMAT csv)`` reads it: nulls unquoted and empty, empty strings
    quoted, instants in ISO 8601 with their offset."""
    return frame.write_csv(
        include_header=False,
        null_value="",
        datetime_format="%Y-%m-%dT%H:%M:%S%.6f%:z",
    ).encode()


async def copy_frame(connection: AsyncConnection, table: sa.Table, frame: pl.DataFrame) -> None:
    """Append ``frame``'s rows to ``table``; its columns are named as the table's."""
    if frame.is_empty():
        return
    driver = await _driver(connection, writing=True)
    await driver.copy_to_table(
        table.name,
        schema_name=_schema_of(connection, table),
        columns=list(frame.columns),
        source=_once(as_csv(frame)),
        format="csv",
    )


async def copy_records(
    connection: AsyncConnection, table: sa.Table, columns: Sequence[str], records: Sequence[Any]
) -> bool:
    """Append ``records`` (tuples in the order of ``columns``) with a binary ``COPY``, each
    value encoded by asyncpg; ``False`` (nothing written) when the caller's transaction has
    not run a statement yet, since a ``COPY`` then would commit on its own."""
    driver = await _driver(connection, writing=False)
    if not driver.is_in_transaction():
        return False
    await driver.copy_records_to_table(
        table.name,
        schema_name=_schema_of(connection, table),
        columns=list(columns),
        records=records,
    )
    return True


async def _once(data: bytes) -> AsyncIterator[bytes]:
    """``data`` as the async source asyncpg reads without a thread (a file-like object is
    read through the default executor)."""
    yield data


async def _copy_out(connection: AsyncConnection, query: sa.Select[Any], output: Any) -> None:
    """``COPY (query) TO STDOUT`` as CSV into ``output`` (a path or a coroutine function),
    from the tables of the connection's ``schema_translate_map``, as a statement it runs
    would read them."""
    driver = await _driver(connection, writing=False)
    translate = _translated(connection)
    compiled = query.compile(
        dialect=connection.dialect,
        schema_translate_map=translate or None,
        render_schema_translate=bool(translate),
    )
    args = [compiled.params[name] for name in compiled.positiontup or ()]
    await driver.copy_from_query(compiled.string, *args, output=output, format="csv")


async def copy_select(connection: AsyncConnection, query: sa.Select[Any]) -> bytes:
    """What ``query`` selects, as CSV without a header."""
    parts: list[bytes] = []

    async def received(data: bytes) -> None:
        parts.append(data)

    await _copy_out(connection, query, received)
    return b"".join(parts)


async def read_frame(
    connection: AsyncConnection,
    query: sa.Select[Any],
    schema: Mapping[str, pl.DataType | type[pl.DataType]],
) -> pl.DataFrame:
    """What ``query`` selects as a frame of ``schema`` (its columns in order; instants parsed
    as UTC). The CSV goes through a temporary file, read a part at a time, so only the frame
    is held in memory, not its text as well (millions of rows)."""
    instants = [name for name, kind in schema.items() if kind == pl.Datetime]
    with tempfile.TemporaryDirectory(prefix="initiatives-copy-") as directory:
        path = os.path.join(directory, "rows.csv")
        await _copy_out(connection, query, path)
        return (
            pl.scan_csv(
                path, has_header=False, schema={**schema, **dict.fromkeys(instants, pl.String)}
            )
            .with_columns(
                pl.col(name).str.to_datetime(time_zone="UTC", time_unit="us") for name in instants
            )
            .collect(engine="streaming")
        )


SORT_MEMORY = "256MB"
"""``work_mem`` and ``maintenance_work_mem`` while :func:`replace_with_sums` sorts. Measured on
a copy of the national set's author references (28.6 million rows into 20.4 million): 67 s
to sum them with 256 MB and no index, then 59 s to build the key; with the default 4 MB and
the key in place, the rebuild's own sum took 252 s."""


async def replace_with_sums(
    connection: AsyncConnection,
    table: sa.Table,
    source: sa.Table,
    counts: Sequence[str],
) -> None:
    """Replace ``table``'s rows by the sums, per primary key, of its rows and ``source``'s;
    keys whose sums are all zero make no row. The key's index is dropped first and built
    once at the end: inserting millions of rows into it one by one took longer than summing
    them. The table is analysed last: what reads it next in the transaction is planned on
    its statistics (counting the national set's distinct authors took 100 s without them,
    10 s with). For a table written by one writer only (a rebuild's shadow)."""
    keys = [column.name for column in table.primary_key.columns]
    columns = [*keys, *counts]
    qualified = qualified_name(connection, table)
    primary_key = table.primary_key.name or f"{table.name}_pkey"
    for setting in ("work_mem", "maintenance_work_mem"):
        await connection.execute(sa.text(f"SET LOCAL {setting} = '{SORT_MEMORY}'"))
    await connection.execute(
        source.insert().from_select(columns, sa.select(*(table.c[name] for name in columns)))
    )
    await connection.execute(table.delete())
    await connection.execute(sa.text(f'ALTER TABLE {qualified} DROP CONSTRAINT "{primary_key}"'))
    grouped = [source.c[name] for name in keys]
    sums = [sa.func.sum(source.c[name]).label(name) for name in counts]
    summed = (
        sa.select(*grouped, *sums).group_by(*grouped).having(sa.or_(*(sum_ != 0 for sum_ in sums)))
    )
    await connection.execute(table.insert().from_select(columns, summed))
    await connection.execute(
        sa.text(
            f'ALTER TABLE {qualified} ADD CONSTRAINT "{primary_key}" '
            f"PRIMARY KEY ({', '.join(keys)})"
        )
    )
    await connection.execute(sa.text(f"ANALYZE {qualified}"))


async def upsert_frame(
    connection: AsyncConnection, table: sa.Table, keys: Sequence[str], frame: pl.DataFrame
) -> None:
    """Insert ``frame``'s rows into ``table``; where a row with the same ``keys`` exists,
    overwrite the frame's other columns. The rows are copied into a temporary table, then
    one ``INSERT … ON CONFLICT`` reads them: no Python object per row (the national set's
    417,927 distinct-author counts, gathered as tuples for asyncpg's arrays, had added 270
    MB to a rebuild's peak)."""
    if frame.is_empty():
        return
    staging = sa.Table(
        f"{table.name}_staging",
        sa.MetaData(),
        *(sa.Column(name, table.c[name].type) for name in frame.columns),
        schema="pg_temp",
    )
    await connection.run_sync(staging.create)
    await copy_frame(connection, staging, frame)
    insert = postgresql.insert(table).from_select(list(frame.columns), sa.select(*staging.c))
    excluded = {name: insert.excluded[name] for name in frame.columns if name not in keys}
    await connection.execute(insert.on_conflict_do_update(index_elements=keys, set_=excluded))
    await connection.run_sync(staging.drop)
