"""The registry of read models: each one's tables, what an initiative contributes to it, how
that spreads to the unit's ancestors, and the queries that answer from it.

Live projection (:func:`services.projector.fold.fold_batch`), the re-attribution a late
reference fact calls for (:mod:`services.projector.structure`), the rebuild and ``verify``
all iterate over :data:`REGISTRY`; none of them names an aggregate table. A counted read
model is an :class:`Aggregate`: adding one is an entry here, its table and its migration.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.attribution import Attribution
from services.projector.rows import InitiativeRow
from services.projector.schema import (
    STATUS_COLUMNS,
    rm_breakdowns,
    rm_checkpoints,
    rm_closure,
    rm_initiative_authors,
    rm_initiative_history,
    rm_initiatives,
    rm_lineage,
    rm_progress,
    rm_quarantine,
    rm_revision,
    rm_rollup_daily,
    rm_series_daily,
    rm_stream_versions,
    rm_target_history,
    rm_targets,
    rm_units,
)
from shared.chunks import IN_LIST, chunks
from shared.domain.initiative import counts_as_approved, counts_as_submitted
from shared.domain.phases import local_date
from shared.persistence.upsert import Writer, add_to_rows

STATUS_INDEX = {name: index for index, name in enumerate(STATUS_COLUMNS)}
METRIC_COLUMNS = ("submitted", "approved")

Key = tuple[Any, ...]
"""A row key of an aggregate table (its primary key, in column order)."""
Local = tuple[Hashable, ...]
"""A cell's key at the unit an initiative counts for, less the unit and the campaign."""
Cell = tuple[Local, int, int]
"""(local key, index of the count column, count): one count an initiative adds."""
UnitKey = tuple[str, str, Local, int]
"""(unit counted for, campaign, local key, epoch of the attribution)."""
UnitCells = list[tuple[UnitKey, list[tuple[int, int]]]]
"""A batch's non-zero cells at units: key and its (column index, count) pairs."""
Changes = defaultdict[Key, list[int]]
"""Count changes by row key of an aggregate table."""
Contribute = Callable[[InitiativeRow, dt.date, ZoneInfo], tuple[Cell, ...]]
"""(row, its bucket day, the campaign's zone) → its cells."""


@dataclass(frozen=True, eq=False)
class Aggregate:
    """A read model of counts over each unit's subtree: an initiative adds its
    ``contribution`` at the unit it counts for, and each cell reaches the rows ``spread``
    names at that unit and at each of its ancestors (in the tree of the initiative's
    attribution instant)."""

    name: str
    table: sa.Table
    columns: tuple[str, ...]
    contribution: Contribute
    """Aggregates given the same function (and columns) share their cells at the unit
    (:mod:`services.projector.deltas`)."""
    spread: Callable[[Aggregate, Attribution, UnitCells, Changes], None]
    """Adds a batch's cells, summed at their units, to the rows of the units
    :meth:`reached` names, in the tree of each cell's epoch."""
    own_on_read: bool = False
    """Whether a unit's rows leave out its own initiatives, which the queries count on read
    from ``rm_initiatives``. Nearly every initiative is filed at a grassroots union, which
    has no unit below it: such a union then has no row at all, and a batch writes its
    initiatives' counts only to the unions above (docs/benchmarks.md)."""

    def __post_init__(self) -> None:
        if self.own_on_read and self.spread is in_phase:
            raise TypeError(f"{self.name}: phase rows reach the unit itself, as the notifier hears")

    @property
    def first_reached(self) -> int:
        """Where :meth:`reached` starts in :meth:`Attribution.ancestors`: past the unit counted
        for when :attr:`own_on_read`."""
        return 1 if self.own_on_read else 0

    def reached(self, attribution: Attribution, unit_id: str, epoch: int) -> Sequence[str]:
        """The units whose rows count an initiative counted for ``unit_id`` in ``epoch``:
        that unit (unless :attr:`own_on_read`) and its ancestors then."""
        return attribution.ancestors(unit_id, epoch)[self.first_reached :]

    async def add(self, writer: Writer, changes: Mapping[Key, list[int]]) -> None:
        await add_counts(writer, self.table, self.columns, changes)


@dataclass(frozen=True)
class ReadModel:
    name: str
    tables: tuple[sa.Table, ...]
    queries: tuple[str, ...]
    """The methods of :class:`services.projector.api.queries.ReadModels` that read it."""
    aggregate: Aggregate | None = None
    """How the fold counts into it; ``None`` for models written by their own module."""


async def add_counts(
    writer: Writer,
    table: sa.Table,
    columns: Sequence[str],
    deltas: Mapping[Key, list[int]],
) -> None:
    """Add each non-zero vector to its row, creating rows that do not exist yet (in key
    order, so two projectors updating the same ancestors lock them in the same order)."""
    keys = [column.name for column in table.primary_key.columns]
    rows = [
        (*key, *vector) for key, vector in sorted(deltas.items(), key=itemgetter(0)) if any(vector)
    ]
    await add_to_rows(writer, table, keys, columns, rows)


def _status(row: InitiativeRow, day: dt.date, zone: ZoneInfo) -> tuple[Cell, ...]:
    """Every initiative counts once, in its status, on the day of its attribution."""
    return (((day,), STATUS_INDEX[row.status], 1),)


def _on_day(
    aggregate: Aggregate, attribution: Attribution, cells: UnitCells, table: Changes
) -> None:
    """Each cell to the row of the same key at each unit it reaches."""
    for (unit_id, campaign_id, local, epoch), counts in cells:
        for ancestor in aggregate.reached(attribution, unit_id, epoch):
            cell = table[(ancestor, campaign_id, *local)]
            for index, count in counts:
                cell[index] += count


def in_phase(
    aggregate: Aggregate, attribution: Attribution, cells: UnitCells, table: Changes
) -> None:
    """Each cell (keyed by its day first) to the row of the phase containing that day in the
    plan governing the unit and each ancestor then, and to its whole-campaign row; nowhere
    where no plan covers the day."""
    for (unit_id, campaign_id, (day, *rest), epoch), counts in cells:
        assert isinstance(day, dt.date)
        for row in attribution.phase_rows(unit_id, campaign_id, day, epoch):
            cell = table[(*row, *rest)]
            for index, count in counts:
                cell[index] += count


def _series(row: InitiativeRow, day: dt.date, zone: ZoneInfo) -> tuple[Cell, ...]:
    """Net metric changes on the local day each happened, in event time."""
    cells: list[Cell] = []
    if row.first_submitted_at is not None:
        cells.append(((local_date(row.first_submitted_at, zone),), 0, 1))
        if row.withdrawn_at is not None:
            cells.append(((local_date(row.withdrawn_at, zone),), 0, -1))
    if row.approved_at is not None:
        cells.append(((local_date(row.approved_at, zone),), 1, 1))
    return tuple(cells)


def _breakdowns(row: InitiativeRow, day: dt.date, zone: ZoneInfo) -> tuple[Cell, ...]:
    """Submitted and approved initiatives by category, solution type and author type."""
    submitted = counts_as_submitted(row.status)
    approved = counts_as_approved(row.status)
    if not submitted and not approved:
        return ()
    values: list[Local] = [("author_type", kind) for kind in row.author_types]
    if row.solution_type:
        values.insert(0, ("solution_type", row.solution_type))
    if row.category:
        values.insert(0, ("category", row.category))
    cells: list[Cell] = []
    for value in values:
        if submitted:
            cells.append((value, 0, 1))
        if approved:
            cells.append((value, 1, 1))
    return tuple(cells)


async def delete_if_zero(connection: AsyncConnection, table: sa.Table, keys: Sequence[Key]) -> None:
    """Delete the rows of ``keys`` whose counts are all zero, so the table is the same however
    the facts were batched: a cell's +1 and -1 in one batch make no row, in two batches they
    would leave a row of zeros (a rebuild, folding whole histories, never makes one)."""
    if not keys:
        return
    if connection.dialect.name == "postgresql":
        arrays = zip(table.primary_key.columns, zip(*keys, strict=True), strict=True)
        await connection.execute(
            _zeros_among(table), {f"key_{column.name}": list(values) for column, values in arrays}
        )
        return
    key = sa.tuple_(*table.primary_key.columns)
    for chunk in chunks(keys, IN_LIST // len(table.primary_key.columns)):
        await connection.execute(table.delete().where(key.in_(chunk), *_zero(table)))


def _zero(table: sa.Table) -> list[sa.ColumnElement[bool]]:
    return [column == 0 for column in table.columns if not column.primary_key]


@functools.cache
def _zeros_among(table: sa.Table) -> sa.Delete:
    """PostgreSQL's delete of the zero rows among keys given as one array per key column,
    built once per table (one built per batch and table cost more Python than it deletes)."""
    columns = list(table.primary_key.columns)
    arrays = [sa.bindparam(f"key_{c.name}", type_=postgresql.ARRAY(c.type)) for c in columns]
    keys = sa.func.unnest(*arrays).table_valued(*(c.name for c in columns)).render_derived()
    matched = [column == keys.c[column.name] for column in columns]
    return sa.delete(table).where(*matched, *_zero(table))


ROLLUP = Aggregate("rollup", rm_rollup_daily, STATUS_COLUMNS, _status, _on_day, own_on_read=True)
PROGRESS = Aggregate("progress", rm_progress, STATUS_COLUMNS, _status, in_phase)
"""Its changes are what the notifier hears of (:mod:`services.projector.changes`)."""
SERIES = Aggregate("series", rm_series_daily, METRIC_COLUMNS, _series, _on_day, own_on_read=True)
BREAKDOWNS = Aggregate(
    "breakdowns", rm_breakdowns, METRIC_COLUMNS, _breakdowns, _on_day, own_on_read=True
)

REGISTRY = (
    ReadModel(
        "units",
        (rm_units, rm_closure, rm_lineage),
        (
            "unit",
            "placed",
            "covers",
            "search_units",
            "ancestors",
            "roots",
            "predecessors",
        ),
    ),
    ReadModel("targets", (rm_targets, rm_target_history), ("running_targets",)),
    ReadModel(
        "initiatives",
        (rm_initiatives, rm_initiative_history, rm_initiative_authors),
        ("initiatives",),
    ),
    ReadModel("rollup", (rm_rollup_daily,), ("campaign_counts",), ROLLUP),
    ReadModel(
        "progress", (rm_progress,), ("phases", "children_figures", "participation"), PROGRESS
    ),
    ReadModel("series", (rm_series_daily,), ("series",), SERIES),
    ReadModel("breakdowns", (rm_breakdowns,), ("breakdowns",), BREAKDOWNS),
    ReadModel(
        "bookkeeping",
        (rm_stream_versions, rm_checkpoints, rm_quarantine, rm_revision),
        ("revision",),
    ),
)
"""Every read model. ``rm_progress.authors`` is not an aggregate's count: it is derived from
the initiatives' rows (:mod:`services.projector.authors`)."""

AGGREGATES = tuple(model.aggregate for model in REGISTRY if model.aggregate is not None)
TABLES = tuple(table for model in REGISTRY for table in model.tables)
"""Every table the rebuild replays into its shadow and swaps in."""
