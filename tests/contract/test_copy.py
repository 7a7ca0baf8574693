"""``COPY`` of frames on real PostgreSQL: what the rebuild writes arrives exactly as given."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.persistence.copy import copy_frame, read_frame, replace_with_sums, upsert_frame
from shared.persistence.engine import create_engine
from shared.persistence.types import Json, UtcDateTime
from shared.persistence.upsert import COPY_ROWS, insert_rows

pytestmark = pytest.mark.integration

metadata = sa.MetaData()
notes = sa.Table(
    "copy_notes",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("text", sa.Text),
    sa.Column("at", UtcDateTime),
    sa.Column("day", sa.Date),
    sa.Column("tags", Json),
)
counts = sa.Table(
    "copy_counts",
    metadata,
    sa.Column("unit", sa.String(64), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("a", sa.Integer, nullable=False, server_default="0"),
    sa.Column("b", sa.Integer, nullable=False, server_default="0"),
)
partials = sa.Table(
    "copy_partials",
    metadata,
    sa.Column("unit", sa.String(64), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("a", sa.Integer, nullable=False),
    sa.Column("b", sa.Integer, nullable=False),
)
stamps = sa.Table(
    "copy_stamps",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("at", UtcDateTime),
    sa.Column("day", sa.Date),
    sa.Column("n", sa.Integer),
)
SHADOW = "copy_shadow"
AWKWARD = 'comma, "quotes", new\nline, \r return, tab\t, back\\slash, Đồng Nai, \\N, NULL'
AT = dt.datetime(2025, 3, 9, 16, 59, 59, 999_999, tzinfo=dt.UTC)


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    """The tables in a schema of their own, reached through ``schema_translate_map`` as the
    rebuild reaches its shadow tables."""
    engine = create_engine(postgres_url)
    async with engine.begin() as connection:
        await connection.execute(sa.text(f"CREATE SCHEMA {SHADOW}"))
        shadow = await connection.execution_options(schema_translate_map={None: SHADOW})
        await shadow.run_sync(metadata.create_all)
    try:
        yield engine.execution_options(schema_translate_map={None: SHADOW})
    finally:
        await engine.dispose()


async def test_copied_rows_read_back_exactly_in_the_translated_schema(
    engine: AsyncEngine,
) -> None:
    frame = pl.DataFrame(
        {
            "key": ["awkward", "empty", "null"],
            "text": [AWKWARD, "", None],
            "at": [AT, AT, None],
            "day": [dt.date(2025, 3, 9), None, dt.date(1999, 12, 31)],
            "tags": ['["a", "b"]', "[]", None],
        },
        schema_overrides={"at": pl.Datetime("us", "UTC")},
    )
    async with engine.begin() as connection:
        await connection.execute(sa.select(1))
        await copy_frame(connection, notes, frame)

    async with engine.connect() as connection:
        stored = (await connection.execute(sa.select(notes).order_by(notes.c.key))).all()
        elsewhere = await connection.scalar(sa.text("SELECT to_regclass('public.copy_notes')"))
    assert [tuple(row) for row in stored] == [
        ("awkward", AWKWARD, AT, dt.date(2025, 3, 9), ["a", "b"]),
        ("empty", "", AT, None, []),
        ("null", None, None, dt.date(1999, 12, 31), None),
    ]
    assert elsewhere is None


async def test_a_frame_read_with_copy_comes_from_the_translated_schema_exactly(
    engine: AsyncEngine,
) -> None:
    """What a rebuild counts distinct authors from: its shadow tables, text and instants as
    stored (a table of the same name in the default schema is not read)."""
    frame = pl.DataFrame(
        {"key": ["awkward", "empty"], "text": [AWKWARD, ""], "at": [AT, None]},
        schema_overrides={"at": pl.Datetime("us", "UTC")},
    )
    async with engine.begin() as connection:
        await connection.execute(sa.select(1))
        await copy_frame(connection, notes, frame)
        await connection.execute(sa.text("CREATE TABLE public.copy_notes (key text)"))
        await connection.execute(sa.text("INSERT INTO public.copy_notes VALUES ('public')"))
        query = sa.select(notes.c.key, notes.c.text, notes.c.at).order_by(notes.c.key)
        read = await read_frame(
            connection, query, {"key": pl.String, "text": pl.String, "at": frame["at"].dtype}
        )
        await connection.rollback()
    assert read.rows() == [("awkward", AWKWARD, AT), ("empty", "", None)]


async def test_summed_counts_add_to_stored_rows_and_leave_out_keys_that_sum_to_zero(
    engine: AsyncEngine,
) -> None:
    """What a rebuild's partial tables become: each key's rows summed, added to the row
    stored under it or inserted; a key whose counts cancel out makes no row; the table keeps
    its primary key."""
    day = dt.date(2025, 1, 1)
    stored = pl.DataFrame({"unit": ["u1", "u2"], "day": [day, day], "a": [1, 2], "b": [0, 5]})
    partial = pl.DataFrame(
        {
            "unit": ["u2", "u3", "u2", "u4", "u4"],
            "day": [day] * 5,
            "a": [10, 1, 1, 1, -1],
            "b": [-5, 1, 0, 2, -2],
        }
    )
    async with engine.begin() as connection:
        await connection.execute(sa.select(1))
        await copy_frame(connection, counts, stored)
        await copy_frame(connection, partials, partial)
        await replace_with_sums(connection, counts, partials, ["a", "b"])

    async with engine.connect() as connection:
        found = (await connection.execute(sa.select(counts).order_by(counts.c.unit))).all()
        with pytest.raises(IntegrityError):
            await connection.execute(counts.insert().values(unit="u1", day=day, a=1, b=1))
    assert [tuple(row) for row in found] == [
        ("u1", day, 1, 0),
        ("u2", day, 13, 0),
        ("u3", day, 1, 1),
    ]


async def test_an_upserted_frame_overwrites_its_columns_of_stored_rows_and_adds_the_others(
    engine: AsyncEngine,
) -> None:
    """How a rebuild writes the distinct authors: the frame's rows replace the values of its
    own columns where the key is stored (the table's other columns kept) and are inserted
    where not (the other columns taking their defaults); twice in one transaction, as the
    staging table is dropped after use."""
    day = dt.date(2025, 1, 1)
    stored = pl.DataFrame({"unit": ["u1", "u2"], "day": [day, day], "a": [1, 2], "b": [7, 8]})
    async with engine.begin() as connection:
        await connection.execute(sa.select(1))
        await copy_frame(connection, counts, stored)
        await upsert_frame(
            connection,
            counts,
            ["unit", "day"],
            pl.DataFrame({"unit": ["u2"], "day": [day], "b": [80]}),
        )
        await upsert_frame(
            connection,
            counts,
            ["unit", "day"],
            pl.DataFrame({"unit": ["u1", "u3"], "day": [day, day], "b": [70, 9]}),
        )

    async with engine.connect() as connection:
        found = (await connection.execute(sa.select(counts).order_by(counts.c.unit))).all()
    assert [tuple(row) for row in found] == [
        ("u1", day, 1, 70),
        ("u2", day, 2, 80),
        ("u3", day, 0, 9),
    ]


async def test_a_copy_before_the_transaction_began_is_refused_and_writes_nothing(
    engine: AsyncEngine,
) -> None:
    """SQLAlchemy begins on the driver at the first statement: a ``COPY`` sent before would
    commit on its own, outside the caller's transaction."""
    frame = pl.DataFrame({"key": ["k"], "text": ["t"]})
    with pytest.raises(RuntimeError, match="inside a transaction"):
        async with engine.begin() as connection:
            await copy_frame(connection, notes, frame)

    async with engine.connect() as connection:
        assert await connection.scalar(sa.select(sa.func.count()).select_from(notes)) == 0


async def test_many_rows_inserted_go_as_a_copy_bound_as_their_columns_bind_them(
    engine: AsyncEngine,
) -> None:
    """A rebuild's catch-up inserts millions of reference rows: from ``COPY_ROWS`` on they go
    as a binary ``COPY`` into the translated schema, instants still refused when naive and
    stored in UTC, as the array insert stores fewer rows."""
    hanoi = dt.timezone(dt.timedelta(hours=7))
    rows = [(f"k{n:05}", AT.astimezone(hanoi), dt.date(2025, 3, 9), n) for n in range(COPY_ROWS)]
    columns = ["key", "at", "day", "n"]
    async with engine.begin() as connection:
        await connection.execute(sa.select(1))
        await insert_rows(connection, stamps, columns, rows)
        await insert_rows(connection, stamps, columns, [("few", AT, None, None)])
    naive = [(f"n{n:05}", AT.replace(tzinfo=None), None, n) for n in range(COPY_ROWS)]
    async with engine.begin() as connection:
        await connection.execute(sa.select(1))
        with pytest.raises((ValueError, StatementError), match="naive"):
            await insert_rows(connection, stamps, columns, naive)

    async with engine.connect() as connection:
        stored = (await connection.execute(sa.select(stamps).order_by(stamps.c.key))).all()
        offsets = await connection.scalar(
            sa.select(sa.func.count()).where(sa.func.extract("timezone", stamps.c.at) != 0)
        )
    assert len(stored) == COPY_ROWS + 1
    assert tuple(stored[0]) == ("few", AT, None, None)
    assert tuple(stored[1]) == ("k00000", AT, dt.date(2025, 3, 9), 0)
    assert tuple(stored[-1])[-1] == COPY_ROWS - 1
    assert offsets == 0
