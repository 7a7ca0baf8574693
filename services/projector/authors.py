"""Distinct authors per unit and phase (``rm_progress.authors``), counted from the
initiatives' own rows.

An author counts for a unit's phase while one initiative counted there names them. That
used to be kept as a row per (unit or ancestor, phase, author) with its number of
initiatives: about 8.5 rows per initiative, 20.4 million at national scale, more than every
other table together and most of a national rebuild's time (docs/benchmarks.md). The
initiatives' rows already say everything the count needs (unit, attribution instant, bucket
day, author keys), and an author names few initiatives, so:

- a batch counts, in the database, where the stored initiatives naming an author its facts
  touch count, and compares that with the batch's rows in place of the stored ones
  (:func:`author_changes`);
- a rebuild counts every unit's distinct authors at once, set at a time
  (:func:`recount_authors`).

Both place an author exactly where the status counts place the initiative: the unit it
counts for and each ancestor, in that ancestor's phase of the bucket day and in the whole
campaign, in the tree and plans of the attribution instant.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.attribution import Attribution
from services.projector.columnar import SCOPE, ancestors_of, phase_windows, phases_within
from services.projector.deltas import vectors
from services.projector.read_models import Changes
from services.projector.rows import InitiativeRow
from services.projector.schema import (
    PHASE_ROW,
    WHOLE_CAMPAIGN,
    rm_initiative_authors,
    rm_initiatives,
    rm_progress,
)
from shared.chunks import chunks
from shared.persistence.copy import read_frame, upsert_frame
from shared.persistence.upsert import upsert_rows

AUTHOR_PARTS = ("", *(f"{start:02x}" for start in range(8, 256, 8)))
"""Where the parts of :func:`recount_authors` start, by author key (hex digests, spread
evenly): a part's (ancestor, phase, author) pairs are a 32nd of the national set's 20
million. Measured on it: 16 parts peaked at 530 MB above the attribution, 32 at 390 MB, 5 s
slower in all (each part's query finds its own initiatives)."""

Place = tuple[str, str, int, Any, str]
"""(unit counted for, campaign, epoch, bucket day's stretch, author key): where initiatives
naming an author count, before the unit's ancestors and phases are looked up. The day is
the first of its stretch (:meth:`Attribution.stretch`): an author of a thousand initiatives
over a year then has a few places, not one per day."""
PLACE = ("unit_id", "campaign_id", "epoch", "day", "author_key")
LEAVES: Mapping[str, type[pl.DataType]] = {
    "unit_id": pl.Categorical,
    "campaign_id": pl.Categorical,
    "epoch": pl.Int64,
    "day": pl.Date,
    "author_key": pl.String,
    "initiatives": pl.Int64,
}


Reached = dict[tuple[str, str, str, str], int]
"""How many initiatives naming an author count for each (unit, campaign, phase, author):
plain counts, not the one-column vectors of the aggregates, as a batch makes tens of
thousands of them."""


def counted_for(rows: Iterable[InitiativeRow], attribution: Attribution) -> Reached:
    """How many of ``rows`` count for each (unit, campaign, phase, author)."""
    zones = attribution.view.campaigns
    places: Counter[Place] = Counter()
    for row in rows:
        day = attribution.stretch(row.bucket_date(zones.get(row.campaign_id).zone))
        epoch = attribution.epoch(row.attributed_at)
        for author in row.author_keys:
            places[(row.unit_id, row.campaign_id, epoch, day, author)] += 1
    return _spread(places, attribution)


def _spread(places: Mapping[Place, int], attribution: Attribution) -> Reached:
    reached: Reached = {}
    for (unit, campaign, epoch, day, author), count in places.items():
        for unit_id, campaign_id, phase_id in attribution.phase_rows(unit, campaign, day, epoch):
            key = (unit_id, campaign_id, phase_id, author)
            reached[key] = reached.get(key, 0) + count
    return reached


def distinct_changes(stored: Reached, taken: Reached, added: Reached) -> Changes:
    """``rm_progress.authors`` changes by row key when the initiatives counted as ``taken``
    are replaced by those counted as ``added``, over what is ``stored``: +1 where an author
    starts counting, -1 where one stops."""
    changes: Changes = vectors(1)
    for key in taken.keys() | added.keys():
        was = stored.get(key, 0)
        now = was - taken.get(key, 0) + added.get(key, 0)
        if (was > 0) != (now > 0):
            changes[key[:-1]][0] += 1 if now > 0 else -1
    return changes


def named(attribution: Attribution) -> sa.Select[Any]:
    """Each initiative's place once per author it names (:data:`PLACE`, in order). The epoch
    is found by the database, from the bounds :meth:`Attribution.epoch` bisects (a few
    dozen)."""
    return _named_within(attribution.bounds, attribution.day_bounds)


def _named_within(
    bounds: tuple[dt.datetime, ...], day_bounds: tuple[dt.date, ...]
) -> sa.Select[Any]:
    i, named = rm_initiatives.c, rm_initiative_authors.c
    joined = rm_initiatives.join(rm_initiative_authors, i.initiative_id == named.initiative_id)
    keys = (i.unit_id, i.campaign_id, _epoch(bounds), _stretch(day_bounds), named.author_key)
    return sa.select(*keys).select_from(joined)


def _stretch(bounds: tuple[dt.date, ...]) -> sa.ColumnElement[Any]:
    """:meth:`Attribution.stretch` of each initiative's bucket day, found by the database."""
    day = rm_initiatives.c.bucket_date
    steps = [(bound, sa.literal(bound, sa.Date)) for bound in bounds]
    before = sa.literal(bounds[0] - dt.timedelta(days=1), sa.Date) if bounds else day
    return _last_reached(day, steps, before).label("bucket_date")


def _epoch(bounds: tuple[dt.datetime, ...]) -> sa.ColumnElement[int]:
    """:meth:`Attribution.epoch` of each initiative's attribution, found by the database."""
    steps = [(bound, epoch) for epoch, bound in enumerate(bounds, 1)]
    return _last_reached(rm_initiatives.c.attributed_at, steps, sa.literal(0)).label("epoch")


def _last_reached(
    column: sa.ColumnElement[Any], steps: Sequence[tuple[Any, Any]], before: Any
) -> sa.ColumnElement[Any]:
    """The value of the last of ``steps`` (bound, value; bounds ascending) whose bound
    ``column`` has reached, ``before`` where it reached none: a ``CASE`` over a few dozen."""
    whens = [(column >= bound, value) for bound, value in reversed(steps)]
    return sa.case(*whens, else_=before) if whens else before


def _counted(named: sa.FromClause, *others: sa.FromClause) -> sa.Select[Any]:
    return sa.select(*named.c, sa.func.count()).select_from(*others, named).group_by(*named.c)


async def counted_stored(
    connection: AsyncConnection, authors: Collection[str], attribution: Attribution
) -> Reached:
    """Where the stored initiatives naming ``authors`` count: per (unit, campaign, phase,
    author), how many. The database counts them per :data:`Place`, so an author of
    thousands of initiatives costs a few rows here. On PostgreSQL each author is looked up
    on its own (a lateral subquery over the list): given the whole list, the planner
    guessed from the most prolific authors that most of the table matched and scanned it
    all (430 ms for 301 authors at scale 0.1, instead of a few)."""
    key = rm_initiative_authors.c.author_key
    queries: list[tuple[sa.Select[Any], dict[str, Any]]] = []
    if connection.dialect.name == "postgresql" and authors:
        query = _stored_places(attribution.bounds, attribution.day_bounds)
        queries.append((query, {"authors": sorted(authors)}))
    elif authors:
        for chunk in chunks(sorted(authors)):
            queries.append((_counted(named(attribution).where(key.in_(chunk)).subquery()), {}))
    places: dict[Place, int] = {}
    for query, parameters in queries:
        result = await connection.execute(query, parameters)
        for unit, campaign, epoch, day, author, count in result.all():
            places[(unit, campaign, epoch, day, author)] = count
    return _spread(places, attribution)


@functools.lru_cache(maxsize=8)
def _stored_places(
    bounds: tuple[dt.datetime, ...], day_bounds: tuple[dt.date, ...]
) -> sa.Select[Any]:
    """:func:`counted_stored`'s statement on PostgreSQL, the authors bound as the array
    ``authors``: built once per set of bounds (they change with reference data only), as
    building and hashing its ``CASE`` took more Python than the database took to answer."""
    listed = sa.bindparam("authors", type_=ARRAY(sa.String))
    each = sa.func.unnest(listed).table_valued("key").render_derived()
    key = rm_initiative_authors.c.author_key
    return _counted(_named_within(bounds, day_bounds).where(key == each.c.key).lateral(), each)


async def author_changes(
    connection: AsyncConnection,
    rows: Mapping[str, InitiativeRow],
    replaced: Mapping[str, InitiativeRow],
    attribution: Attribution,
) -> Changes:
    """The distinct-author changes when ``rows`` replace the stored rows of the same
    initiatives (``replaced``, those that were stored); run before they are written. Only
    rows whose place changes can move an author (most facts are reviews, which do not)."""
    moved = {key: row for key, row in rows.items() if _place(row) != _place(replaced.get(key))}
    if not moved:
        return vectors(1)
    gone = [replaced[key] for key in moved if key in replaced]
    authors = {author for row in (*moved.values(), *gone) for author in row.author_keys}
    stored = await counted_stored(connection, authors, attribution)
    taken = counted_for(gone, attribution)
    return distinct_changes(stored, taken, counted_for(moved.values(), attribution))


def _place(row: InitiativeRow | None) -> tuple[object, ...] | None:
    """What decides where an initiative's authors count."""
    if row is None:
        return None
    return (row.unit_id, row.campaign_id, row.attributed_at, row.author_keys)


async def recount_authors(
    connection: AsyncConnection, attribution: Attribution, places: sa.Select[Any] | None = None
) -> None:
    """Every ``rm_progress`` row's distinct authors, counted from the whole tables at once
    (a rebuild's history pass writes initiatives without them): the ancestors and phase
    windows of every unit first, then the authors in :data:`AUTHOR_PARTS` parts by key, each
    part's distinct authors per row counted (in a thread, while the database reads the next
    part) and added to the parts' running sum (no author is in two). ``places`` selects
    where initiatives name authors (:func:`named`'s columns) if they were noted already; by
    default they are found joining the initiatives with their authors, once per part.

    Memory, measured on the national set (above what the rebuild held before): 1.4 GB with
    strings throughout, a list of every part's counts and the sums written as Python tuples;
    700 MB with units and campaigns categorical (their joins and ``unique`` hash numbers),
    the parts summed as they come and the sums written with ``COPY``; 530 MB with each part's
    authors numbered by rank (as categories, the 2.2 million keys would stay in Polars'
    global categories for good); 390 MB in 32 parts rather than 16."""
    where = named(attribution) if places is None else places
    units = await _frame(connection, _units(attribution), UNITS)
    ancestors = _categorical(ancestors_of(units, attribution).drop("depth"), "unit_id", "ancestor")
    scopes = units.join(ancestors, on=["unit_id", "epoch"]).select(*SCOPE).unique()
    windows = _categorical(phase_windows(scopes, attribution), "ancestor", "campaign_id")
    totals = pl.DataFrame(schema=COUNTED)
    counting: asyncio.Future[pl.DataFrame] | None = None
    try:
        for low, high in zip(AUTHOR_PARTS, (*AUTHOR_PARTS[1:], None), strict=True):
            leaves = await _frame(connection, _leaves(where, low, high), LEAVES)
            if counting is not None:
                totals = _added(totals, await counting)
                counting = None
            if not leaves.is_empty():
                count = asyncio.to_thread(_distinct, leaves, ancestors, windows)
                counting = asyncio.ensure_future(count)
        if counting is not None:
            totals = _added(totals, await counting)
    finally:
        if counting is not None:
            counting.cancel()
    counts = totals.with_columns(pl.col("unit_id", "campaign_id").cast(pl.String))
    await _write(connection, counts)


def _added(totals: pl.DataFrame, part: pl.DataFrame) -> pl.DataFrame:
    return pl.concat([totals, part]).group_by(PHASE_ROW).agg(pl.col("authors").sum())


def _categorical(frame: pl.DataFrame, *names: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(*names).cast(pl.Categorical))


def _distinct(leaves: pl.DataFrame, ancestors: pl.DataFrame, windows: pl.DataFrame) -> pl.DataFrame:
    """Distinct authors of ``leaves`` per ``rm_progress`` row: each (unit, campaign, epoch,
    day) joined to the ancestors and phases it counts for, each (ancestor, phase, author)
    kept once."""
    leaves = leaves.with_columns(pl.col("author_key").rank("dense"))
    cells = leaves.select(*PLACE[:-1]).unique()
    reached = cells.join(ancestors, on=["unit_id", "epoch"])
    phases = phases_within(reached.select(*SCOPE, "day").unique(), "day", windows)
    placed = reached.join(phases, on=[*SCOPE, "day"])
    named = leaves.lazy().join(placed.lazy(), on=list(PLACE[:-1]))
    pairs = pl.concat(
        named.select("ancestor", "campaign_id", phase, "author_key").unique()
        for phase in (pl.col("phase_id"), pl.lit(WHOLE_CAMPAIGN).alias("phase_id"))
    )
    by_phase = pairs.group_by("ancestor", "campaign_id", "phase_id").len("authors")
    return by_phase.collect(engine="streaming").rename({"ancestor": "unit_id"}).select(*COUNTED)


UNITS: Mapping[str, type[pl.DataType]] = {
    "unit_id": pl.Categorical,
    "campaign_id": pl.Categorical,
    "epoch": pl.Int64,
}
COUNTED = {
    "unit_id": pl.Categorical,
    "campaign_id": pl.Categorical,
    "phase_id": pl.String,
    "authors": pl.UInt32,
}


def _units(attribution: Attribution) -> sa.Select[Any]:
    """Each (unit, campaign, epoch) initiatives count for."""
    i = rm_initiatives.c
    return sa.select(i.unit_id, i.campaign_id, _epoch(attribution.bounds)).distinct()


def _leaves(places: sa.Select[Any], low: str, high: str | None) -> sa.Select[Any]:
    """Every :data:`Place` of ``places`` where initiatives name authors whose key is from
    ``low`` up to ``high``."""
    key = places.selected_columns.author_key
    part = places.where(key >= low, *(() if high is None else (key < high,)))
    return _counted(part.subquery())


async def _write(connection: AsyncConnection, counts: pl.DataFrame) -> None:
    """The distinct authors of ``counts`` into ``rm_progress``, with ``COPY`` on PostgreSQL."""
    if counts.is_empty():
        return
    if connection.dialect.name == "postgresql":
        await upsert_frame(connection, rm_progress, PHASE_ROW, counts)
    else:
        await upsert_rows(connection, rm_progress, PHASE_ROW, counts.columns, counts.rows())


async def _frame(
    connection: AsyncConnection,
    query: sa.Select[Any],
    schema: Mapping[str, type[pl.DataType]],
) -> pl.DataFrame:
    """What ``query`` selects, read with ``COPY`` on PostgreSQL: no Python object per row."""
    if connection.dialect.name == "postgresql":
        return await read_frame(connection, query, schema)
    return pl.DataFrame((await connection.execute(query)).all(), schema=schema, orient="row")
