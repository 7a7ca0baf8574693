"""A columnar fold's outcome written with ``COPY`` (PostgreSQL): the rebuild's history pass.

The frames go to the server as CSV the engine encodes (:mod:`shared.persistence.copy`), so
no Python object is made per row: initiatives, their history and authors, and the applied
stream versions are appended (their streams are new to the tables).

Each aggregate's counts are appended too, to a partial table without keys or indexes: the
same key recurs from chunk to chunk (a province's counts come from every chunk), and adding
to an indexed table row by row, with the dead row versions that leaves behind, was most of
a national rebuild's time (about 4,800 events/s, PostgreSQL's backend busy adding author
references). :func:`close_partials` adds them up into the tables once, their keys indexed
after. Distinct authors are not counts that add up: where each chunk's initiatives name
authors is appended to a partial table too (and noted there by :func:`note_author_places`
for what the per-event fold settles), and the distinct authors are counted from it once
the initiatives are all written (:func:`services.projector.authors.recount_authors`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import polars as pl
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.projector.attribution import Attribution
from services.projector.authors import AUTHOR_PARTS, named, recount_authors
from services.projector.columnar import ColumnarFold
from services.projector.read_models import AGGREGATES, PROGRESS, Aggregate
from services.projector.rows import RECORD_COLUMNS
from services.projector.schema import (
    rm_initiative_authors,
    rm_initiative_history,
    rm_initiatives,
    rm_stream_versions,
)
from shared.dependencies import StartupFailure
from shared.persistence.copy import copy_frame, qualified_name, replace_with_sums
from shared.persistence.lookup import among
from shared.text_columns import fold_column


def _partial(aggregate: Aggregate) -> sa.Table:
    key = aggregate.table.primary_key.columns
    return sa.Table(
        f"{aggregate.table.name}_partial",
        _PARTIALS,
        *(sa.Column(column.name, column.type, nullable=False) for column in key),
        *(sa.Column(name, sa.Integer, nullable=False) for name in aggregate.columns),
        postgresql_with={"autovacuum_enabled": "false"},
    )


_PARTIALS = sa.MetaData()
PARTIALS = tuple(_partial(aggregate) for aggregate in AGGREGATES)
"""Per aggregate of ``AGGREGATES``: its counts as the chunks append them (never vacuumed:
they are read once, then dropped)."""


AUTHOR_PLACES = sa.Table(
    "rm_author_places_partial",
    _PARTIALS,
    *(
        sa.Column(column.name, column.type, nullable=False)
        for column in (
            rm_initiatives.c.unit_id,
            rm_initiatives.c.campaign_id,
            sa.Column("epoch", sa.Integer),
            rm_initiatives.c.bucket_date,
            rm_initiative_authors.c.author_key,
        )
    ),
    postgresql_partition_by="RANGE (author_key)",
)
"""Where the initiatives written so far name authors (:func:`authors.named`'s columns),
chunk by chunk: counted from at the end, where a join of the whole initiatives' table with
their authors for each of the count's 32 parts took 13 of a scale-0.2 rebuild's 88 s.

Partitioned as the count reads it (:data:`AUTHOR_PARTS`), so that each part is one
partition read whole: through an index on the author key, each part's rows were spread over
nearly every page of the table, and the 32 reads took 18 of the count's 25 s on the national
set."""


async def _unpartitioned_places(connection: AsyncConnection) -> bool:
    """Whether :data:`AUTHOR_PLACES` is there as a plain table, as versions before its
    partitions made it (a pass they began cannot be resumed into partitions)."""
    kind = await connection.scalar(
        sa.text("SELECT relkind::text FROM pg_class WHERE oid = to_regclass(:name)"),
        {"name": qualified_name(connection, AUTHOR_PLACES)},
    )
    return bool(kind == "r")


async def _create_author_partitions(connection: AsyncConnection) -> None:
    """One partition of :data:`AUTHOR_PLACES` per part of :data:`AUTHOR_PARTS`, in the
    schema the connection writes it in (a partitioned table takes no storage parameters;
    its partitions do)."""
    places = qualified_name(connection, AUTHOR_PLACES)
    bounds = [*(f"('{low}')" for low in AUTHOR_PARTS[1:]), "(MAXVALUE)"]
    for number, (low, high) in enumerate(zip(["(MINVALUE)", *bounds[:-1]], bounds, strict=True)):
        partition = qualified_name(connection, AUTHOR_PLACES, f"{AUTHOR_PLACES.name}_{number:02d}")
        await connection.execute(
            sa.text(
                f"CREATE TABLE IF NOT EXISTS {partition} PARTITION OF {places} "
                f"FOR VALUES FROM {low} TO {high} WITH (autovacuum_enabled = false)"
            )
        )


APPENDED = (rm_initiatives, rm_initiative_history, rm_initiative_authors, AUTHOR_PLACES)
"""The tables the history pass appends rows to, whose secondary indexes are built once at
the end rather than maintained row by row (the authors' key indexes take them in random
order)."""


def _drop_indexes(connection: sa.Connection) -> None:
    for table in APPENDED:
        for index in table.indexes:
            index.drop(connection, checkfirst=True)


def _create_indexes(connection: sa.Connection, tables: Sequence[sa.Table]) -> None:
    for table in tables:
        for index in table.indexes:
            index.create(connection, checkfirst=True)


class OutdatedShadow(StartupFailure):
    """An interrupted rebuild left partial tables shaped by an earlier version."""


async def open_partials(connection: AsyncConnection) -> None:
    """Create the partial tables (kept when a pass resumes: they hold what it wrote), and
    drop the secondary indexes of the tables appended to."""
    if await _unpartitioned_places(connection):
        raise OutdatedShadow(
            "an interrupted rebuild left tables an earlier version wrote (the author places "
            "were not partitioned then); start it over with `initiatives projector rebuild "
            "--restart`"
        )
    await connection.run_sync(
        lambda sync: _PARTIALS.create_all(sync, tables=[*PARTIALS, AUTHOR_PLACES])
    )
    await _create_author_partitions(connection)
    await connection.run_sync(_drop_indexes)


async def copy_fold(connection: AsyncConnection, fold: ColumnarFold) -> None:
    """Write ``fold`` in the caller's transaction, which has run a statement already."""
    await copy_frame(connection, rm_initiatives, _records(fold.rows))
    await copy_frame(connection, rm_initiative_history, fold.history)
    await copy_frame(connection, rm_initiative_authors, fold.authors_added)
    await copy_frame(connection, AUTHOR_PLACES, fold.author_places)
    for aggregate, partial, changes in zip(AGGREGATES, PARTIALS, fold.tables, strict=True):
        await copy_frame(connection, partial, _vectors(aggregate, changes))
    await copy_frame(connection, rm_stream_versions, fold.versions)


async def note_author_places(
    connection: AsyncConnection, attribution: Attribution, initiative_ids: Sequence[str]
) -> None:
    """Note where the initiatives ``initiative_ids`` name authors, once the per-event fold
    has written them (the columnar fold's are copied with the rest of its outcome)."""
    places = named(attribution)
    for condition in among(connection.dialect, rm_initiatives.c.initiative_id, initiative_ids):
        await connection.execute(
            AUTHOR_PLACES.insert().from_select(list(AUTHOR_PLACES.c), places.where(condition))
        )


async def close_partials(engine: AsyncEngine, attribution: Attribution) -> None:
    """Add the partial tables into the aggregates' tables, build the secondary indexes
    :func:`open_partials` dropped and count the distinct authors, in two transactions at once
    (:data:`LANES`): on one connection the server and the count's Python took turns, each
    idle half the time.

    The close resumes whichever lane did not commit. Each aggregate's partial table is dropped
    in the transaction that adds it up, so its counts are never added twice (a resumed pass
    creates it again, empty, or with what it appends). The author places are kept until
    :func:`drop_partials`: the distinct authors are counted afresh from all of them, and
    ``rm_progress``'s authors must be counted again whenever its counts are added up again,
    as the sums leave them at zero. A lane that fails lets the other finish; the first error
    is raised once both are done."""
    outcomes = await asyncio.gather(
        *(_committed(engine, lane, attribution) for lane in LANES), return_exceptions=True
    )
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome


async def drop_partials(connection: AsyncConnection) -> None:
    """Drop the partial tables, in the transaction that records the history pass as done."""
    await connection.run_sync(
        lambda sync: _PARTIALS.drop_all(sync, tables=[*PARTIALS, AUTHOR_PLACES], checkfirst=True)
    )


Lane = Callable[[AsyncConnection, Attribution], Awaitable[None]]


async def _committed(engine: AsyncEngine, lane: Lane, attribution: Attribution) -> None:
    async with engine.begin() as connection:
        await lane(connection, attribution)


async def _add_up(connection: AsyncConnection, aggregate: Aggregate) -> None:
    partial = PARTIALS[AGGREGATES.index(aggregate)]
    await replace_with_sums(connection, aggregate.table, partial, aggregate.columns)
    await connection.run_sync(partial.drop)


async def _progress_and_authors(connection: AsyncConnection, attribution: Attribution) -> None:
    await _add_up(connection, PROGRESS)
    await recount_authors(connection, attribution, sa.select(*AUTHOR_PLACES.c))


async def _the_rest(connection: AsyncConnection, _attribution: Attribution) -> None:
    for aggregate in AGGREGATES:
        if aggregate is not PROGRESS:
            await _add_up(connection, aggregate)
    await connection.run_sync(lambda sync: _create_indexes(sync, APPENDED))


LANES: tuple[Lane, ...] = (_progress_and_authors, _the_rest)
"""The close's two transactions: ``rm_progress``'s sums and the distinct authors' count
(most of it the count's Python, reading the places a partition at a time as it goes); every
other aggregate's sums and the appended tables' indexes (all the server's)."""


def _json_list(name: str) -> pl.Expr:
    """A list of strings as JSON text (the column is ``jsonb``), encoded by the engine: the
    list is the only field of a struct, whose encoding is cut down to the list's."""
    encoded = pl.struct(pl.col(name).fill_null([])).struct.json_encode()
    return encoded.str.strip_prefix(f'{{"{name}":').str.strip_suffix("}")


def _records(rows: pl.DataFrame) -> pl.DataFrame:
    """The ``rm_initiatives`` rows, as :meth:`InitiativeRow.as_record` makes them."""
    return rows.with_columns(
        title_folded=fold_column(rows["title"]),
        author_types=_json_list("author_types"),
        author_keys=_json_list("author_keys"),
    ).select(RECORD_COLUMNS)


def _vectors(aggregate: Aggregate, changes: pl.DataFrame) -> pl.DataFrame:
    """(key…, index, count) rows as one row of counts per key, in the table's columns;
    keys whose counts are all zero are left out, as ``add_counts`` leaves them."""
    keys = [column.name for column in aggregate.table.primary_key.columns]
    index, count = pl.col("index"), pl.col("count")
    summed = changes.group_by(keys).agg(
        pl.when(index == position).then(count).otherwise(0).sum().alias(column)
        for position, column in enumerate(aggregate.columns)
    )
    return summed.filter(pl.any_horizontal(pl.col(column) != 0 for column in aggregate.columns))
