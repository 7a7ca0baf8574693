"""Reads of the projector's read models: SQLAlchemy Core that runs alike on SQLite and PostgreSQL.

Current figures are read as the projector stored them. "As of" figures are counted from each
initiative's status history instead, with the phases and targets that stood then
(``rm_target_history``), so an answer for 13:30 is exact whatever happened since, a
reorganisation included. Subtrees are joins with ``rm_closure`` (the tree now) or
``rm_lineage`` (the tree at each initiative's attribution), never recursive queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from operator import itemgetter
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.bi_views import Dialect, own_breakdowns, own_series
from services.projector.schema import (
    STATUS_COLUMNS,
    WHOLE_CAMPAIGN,
    rm_breakdowns,
    rm_closure,
    rm_initiative_authors,
    rm_initiative_history,
    rm_initiatives,
    rm_lineage,
    rm_progress,
    rm_revision,
    rm_rollup_daily,
    rm_series_daily,
    rm_target_history,
    rm_targets,
    rm_units,
    same_phase_row,
)
from shared.contracts.base import LATEST_INSTANT, REFERENCE_STREAM
from shared.contracts.campaigns import Metric
from shared.domain.progress import metric_statuses
from shared.eventstore.schema import events
from shared.web.auth import Scope, covers

OPEN = "open"
AnyRow = tuple[Any, ...]


class Unit(NamedTuple):
    """A unit as the answers show it; a named tuple, built from its row by position (a
    ranking builds one per child)."""

    unit_id: str
    name: str
    level: str
    parent_id: str | None
    parent_name: str | None
    cluster: str | None
    state: str
    merged_into: str | None
    merged_into_name: str | None


class Placed(NamedTuple):
    """A unit and the campaigns it has a plan or any counted initiative in, read together:
    nearly every request needs both, and each read of its own cost about a tenth of a
    request's Python."""

    unit: Unit
    campaigns: list[str]


class PhaseFigures(NamedTuple):
    """One unit's phase (or whole campaign, ``phase_id`` ''), its target and status counts.

    A named tuple: a ranking of 360 children builds 1,080 of them per answer, and a frozen
    dataclass cost three times as much to build."""

    unit_id: str
    phase_id: str
    name: str
    starts_on: dt.date
    ends_on: dt.date
    metric: str | None
    kind: str | None
    value: str | None
    required: int | None
    members: int | None
    source_unit_id: str | None
    counts: Mapping[str, int]
    authors: int = 0
    """Distinct authors of the initiatives counted (``shared.domain.participation``)."""


@dataclass(frozen=True, slots=True)
class RunningTarget:
    """A unit's targeted phase running on a day, short of its target: what a follow-up list
    judges, counted in SQL so a national subtree stays one cheap pass."""

    unit_id: str
    name: str
    level: str
    parent_id: str | None
    parent_name: str | None
    phase_id: str
    phase_name: str
    starts_on: dt.date
    ends_on: dt.date
    metric: str | None
    required: int
    value: int
    """The count of the target's metric."""
    submitted: int


@dataclass(frozen=True, slots=True)
class Breakdown:
    dimension: str
    value: str
    submitted: int
    approved: int


@dataclass(frozen=True, slots=True)
class Initiative:
    initiative_id: str
    campaign_id: str
    unit_id: str
    unit_name: str | None
    title: str
    status: str
    category: str | None
    solution_type: str | None
    author_types: list[str]
    bucket_date: dt.date
    registered_at: dt.datetime | None
    first_submitted_at: dt.datetime | None
    approved_at: dt.datetime | None
    rejected_at: dt.datetime | None
    recognized_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    updated_at: dt.datetime


_parent = rm_units.alias("parent")
_successor = rm_units.alias("successor")
_UNITS = sa.select(
    rm_units.c.unit_id,
    rm_units.c.name,
    rm_units.c.level,
    rm_units.c.parent_id,
    _parent.c.name.label("parent_name"),
    rm_units.c.cluster,
    rm_units.c.state,
    rm_units.c.merged_into,
    _successor.c.name.label("merged_into_name"),
).select_from(
    rm_units.outerjoin(_parent, _parent.c.unit_id == rm_units.c.parent_id).outerjoin(
        _successor, _successor.c.unit_id == rm_units.c.merged_into
    )
)
"""A unit's row in :class:`Unit`'s field order, so ``Unit._make(row)`` builds it."""


def _subtree_of(unit_id: str, column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """``column`` names a unit in ``unit_id``'s subtree now (itself included)."""
    inside = sa.select(rm_closure.c.descendant_id).where(rm_closure.c.ancestor_id == unit_id)
    return column.in_(inside)


def _counting_for(unit_ids: Sequence[str], initiatives: sa.FromClause) -> sa.ColumnElement[bool]:
    """The initiative counts for one of ``unit_ids``: its unit stood in that subtree at the
    instant that fixed its attribution (so a later move or merge does not take it away)."""
    lineage = rm_lineage
    return sa.exists().where(
        lineage.c.ancestor_id.in_(unit_ids),
        lineage.c.descendant_id == initiatives.c.unit_id,
        lineage.c.valid_from <= initiatives.c.attributed_at,
        lineage.c.valid_to > initiatives.c.attributed_at,
    )


def _targets_as_of(at: dt.datetime) -> sa.Subquery:
    """``rm_targets`` as it stood at ``at``: each phase's latest listed version begun by then."""
    history, later = rm_target_history, rm_target_history.alias("later")
    superseded = sa.exists().where(
        later.c.unit_id == history.c.unit_id,
        later.c.campaign_id == history.c.campaign_id,
        later.c.phase_id == history.c.phase_id,
        later.c.listed,
        later.c.valid_from > history.c.valid_from,
        later.c.valid_from <= at,
    )
    return (
        sa.select(*(history.c[c.name] for c in rm_targets.columns))
        .where(history.c.listed, history.c.valid_from <= at, ~superseded)
        .subquery("targets")
    )


def _counts_as_of(
    unit_id: str, campaign_id: str, at: dt.datetime, predecessors: Sequence[str] = ()
) -> sa.Subquery:
    """Status counts per phase of ``unit_id`` at ``at``, shaped like ``rm_progress``.

    Each initiative counting for the unit (or for one of ``predecessors``, once) counts with
    its status after its latest fact at or before ``at``; one whose first fact came later
    does not count at all. Its phase is the one containing its bucket date in the scheme
    that governed ``unit_id`` at its attribution, as the projector files it; the whole
    campaign sums the phases, so an initiative dated between two phases counts in neither.
    """
    history, initiatives, scheme = rm_initiative_history, rm_initiatives, rm_target_history
    latest = (
        sa.select(
            initiatives.c.initiative_id,
            initiatives.c.bucket_date,
            initiatives.c.attributed_at,
            sa.func.max(history.c.version).label("version"),
        )
        .join(history, history.c.initiative_id == initiatives.c.initiative_id)
        .where(
            initiatives.c.campaign_id == campaign_id,
            _counting_for([unit_id, *predecessors], initiatives),
            history.c.at <= at,
        )
        .group_by(
            initiatives.c.initiative_id, initiatives.c.bucket_date, initiatives.c.attributed_at
        )
        .subquery("latest")
    )
    status = history.c.status
    phases = (
        sa.select(
            scheme.c.unit_id,
            scheme.c.campaign_id,
            scheme.c.phase_id,
            *(
                sa.func.sum(sa.case((status == name, 1), else_=0)).label(name)
                for name in STATUS_COLUMNS
            ),
        )
        .select_from(scheme)
        .join(
            latest,
            sa.and_(
                latest.c.bucket_date.between(scheme.c.starts_on, scheme.c.ends_on),
                latest.c.attributed_at >= scheme.c.valid_from,
                latest.c.attributed_at < scheme.c.valid_to,
            ),
        )
        .join(
            history,
            sa.and_(
                history.c.initiative_id == latest.c.initiative_id,
                history.c.version == latest.c.version,
            ),
        )
        .where(
            scheme.c.unit_id == unit_id,
            scheme.c.campaign_id == campaign_id,
            scheme.c.phase_id != WHOLE_CAMPAIGN,
        )
        .group_by(scheme.c.unit_id, scheme.c.campaign_id, scheme.c.phase_id)
        .cte("phase_counts")
    )
    # The whole campaign is the sum of the phases, exactly as the projector stores it.
    whole = sa.select(
        phases.c.unit_id,
        phases.c.campaign_id,
        sa.literal(WHOLE_CAMPAIGN).label("phase_id"),
        *(sa.func.sum(phases.c[name]).label(name) for name in STATUS_COLUMNS),
    ).group_by(phases.c.unit_id, phases.c.campaign_id)
    return sa.union_all(sa.select(phases), whole).subquery("counts")


def _authors_by_phase(
    unit_id: str, campaign_id: str, at: dt.datetime | None, predecessors: Sequence[str] = ()
) -> sa.CompoundSelect[*AnyRow]:
    """Distinct authors per phase of ``unit_id`` (and '' for the whole campaign: distinct
    over every phase, not a sum), from the initiatives counting for it (or for one of
    ``predecessors``) in the phase of the scheme that governed it at their attribution, as
    :func:`_counts_as_of` files them; with ``at``, only initiatives known by then.

    For "as of" and restated answers only: current figures read ``rm_progress.authors``.
    Counted over the subtree's initiatives, so its cost grows with them (docs/benchmarks.md,
    "Distinct authors").
    """
    initiatives, authors, scheme = rm_initiatives, rm_initiative_authors, rm_target_history
    conditions = [
        initiatives.c.campaign_id == campaign_id,
        _counting_for([unit_id, *predecessors], initiatives),
        scheme.c.unit_id == unit_id,
        scheme.c.campaign_id == campaign_id,
        scheme.c.phase_id != WHOLE_CAMPAIGN,
    ]
    if at is not None:
        history = rm_initiative_history
        conditions.append(
            sa.exists().where(
                history.c.initiative_id == initiatives.c.initiative_id, history.c.at <= at
            )
        )
    matched = (
        sa.select(scheme.c.phase_id, authors.c.author_key)
        .select_from(
            initiatives.join(authors, authors.c.initiative_id == initiatives.c.initiative_id).join(
                scheme,
                sa.and_(
                    initiatives.c.bucket_date.between(scheme.c.starts_on, scheme.c.ends_on),
                    initiatives.c.attributed_at >= scheme.c.valid_from,
                    initiatives.c.attributed_at < scheme.c.valid_to,
                ),
            )
        )
        .where(*conditions)
        .cte("matched")
    )
    distinct = sa.func.count(sa.distinct(matched.c.author_key)).label("authors")
    return sa.union_all(
        sa.select(matched.c.phase_id, distinct).group_by(matched.c.phase_id),
        sa.select(sa.literal(WHOLE_CAMPAIGN).label("phase_id"), distinct),
    )


def _counted(counts: sa.FromClause) -> list[sa.Label[Any]]:
    """``counts``' status counts (0 where none are stored), and its distinct authors where it
    holds them (``rm_progress``), named as :func:`_phase_figures` reads them."""
    names = [*STATUS_COLUMNS, *(["authors"] if "authors" in counts.c else [])]
    return [sa.func.coalesce(counts.c[name], 0).label(f"n_{name}") for name in names]


def _figures(
    counts: sa.FromClause,
    campaign_id: str | sa.BindParameter[str],
    targets: sa.FromClause = rm_targets,
) -> sa.Select[*AnyRow]:
    """Targets of a campaign with their counts (:func:`_counted`)."""
    return (
        sa.select(*(targets.c[c.name] for c in rm_targets.columns), *_counted(counts))
        .select_from(targets)
        .outerjoin(counts, same_phase_row(counts, targets))
        .where(targets.c.campaign_id == campaign_id)
        .order_by(targets.c.unit_id, targets.c.starts_on, targets.c.phase_id)
    )


def _metric_count(counts: sa.FromClause, metric: Metric) -> sa.ColumnElement[Any]:
    """``metric``'s count from ``counts``' status columns, by the domain's definition."""
    return sa.func.coalesce(sum(counts.c[status] for status in metric_statuses(metric)), 0)


def _metric_value(counts: sa.FromClause, metric: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The count of a row's target ``metric`` (null: submissions)."""
    return sa.case(
        (metric == Metric.APPROVED.value, _metric_count(counts, Metric.APPROVED)),
        else_=_metric_count(counts, Metric.SUBMITTED),
    )


_FIGURE_FIELDS = PhaseFigures._fields[:-2]
"""The fields read as they are, in order: all but ``counts`` and ``authors``, the last two."""


def _phase_figures(rows: Sequence[sa.Row[*AnyRow]], prefix: str = "") -> list[PhaseFigures]:
    """Rows of :func:`_figures` (or of a statement naming the target's columns with
    ``prefix``) as figures, read by position and built positionally: a row's mapping looks
    each name up in Python, and a dictionary of keywords per row cost as much again."""
    if not rows:
        return []
    at = {name: index for index, name in enumerate(rows[0]._fields)}
    plain = itemgetter(*(at[prefix + name] for name in _FIGURE_FIELDS))
    counted = itemgetter(*(at[f"n_{name}"] for name in STATUS_COLUMNS))
    authors = at.get("n_authors")
    return [
        PhaseFigures._make(
            (
                *plain(row),
                dict(zip(STATUS_COLUMNS, map(int, counted(row)), strict=True)),
                0 if authors is None else int(row[authors]),
            )
        )
        for row in rows
    ]


_UNIT_ID = sa.bindparam("unit_id", type_=sa.String)
_CAMPAIGN_ID = sa.bindparam("campaign_id", type_=sa.String)
# The statements every unit's page and its children ask, built once: building one costs
# about a millisecond of Python per request, more than the database takes to answer it.
_UNIT = _UNITS.where(rm_units.c.unit_id == _UNIT_ID)
_CAMPAIGNS = sa.union(
    sa.select(rm_targets.c.campaign_id).where(rm_targets.c.unit_id == _UNIT_ID),
    sa.select(rm_rollup_daily.c.campaign_id).where(rm_rollup_daily.c.unit_id == _UNIT_ID),
    sa.select(rm_initiatives.c.campaign_id).where(rm_initiatives.c.unit_id == _UNIT_ID),
).subquery("campaigns")
_PLACED = (
    _UNITS.add_columns(_CAMPAIGNS.c.campaign_id)
    .outerjoin(_CAMPAIGNS, sa.true())
    .where(rm_units.c.unit_id == _UNIT_ID)
    .order_by(_CAMPAIGNS.c.campaign_id)
)
"""The unit's row once per campaign (once, with no campaign, when it has none)."""
_CURRENT_PHASES = _figures(rm_progress, _CAMPAIGN_ID).where(rm_targets.c.unit_id == _UNIT_ID)
_REVISION = sa.select(rm_revision.c.revision)
_TARGET = "target_"
_CHILDREN_FIGURES = (
    _UNITS.add_columns(
        *(rm_targets.c[name].label(_TARGET + name) for name in _FIGURE_FIELDS),
        *_counted(rm_progress),
    )
    .outerjoin(
        rm_targets,
        sa.and_(
            rm_targets.c.unit_id == rm_units.c.unit_id, rm_targets.c.campaign_id == _CAMPAIGN_ID
        ),
    )
    .outerjoin(rm_progress, same_phase_row(rm_progress, rm_targets))
    .where(rm_units.c.parent_id == _UNIT_ID, rm_units.c.state == OPEN)
    .order_by(rm_units.c.unit_id, rm_targets.c.starts_on, rm_targets.c.phase_id)
)
"""Each open child's row once per phase of its plan in the campaign (once, without figures,
when it has no plan)."""


def _below_and_own(stored: sa.Table, own_sql: str, columns: Sequence[str]) -> sa.Subquery:
    """``columns`` of the unit's stored rows, which count the units below it, and of its own
    initiatives' rows (``own_sql``, in the stored table's columns), as one relation."""
    own = (
        sa.text(own_sql)
        .columns(*(sa.column(c.name, c.type) for c in stored.columns))
        .subquery("own")
    )
    return sa.union_all(
        *(
            sa.select(*(rows.c[name] for name in columns)).where(
                rows.c.unit_id == _UNIT_ID, rows.c.campaign_id == _CAMPAIGN_ID
            )
            for rows in (stored, own)
        )
    ).subquery("both")


def _breakdowns_of_unit(dialect: Dialect) -> sa.Select[*AnyRow]:
    columns = ("dimension", "value", "submitted", "approved")
    both = _below_and_own(rm_breakdowns, own_breakdowns(dialect), columns)
    submitted = sa.func.sum(both.c.submitted)
    return (
        sa.select(
            both.c.dimension,
            both.c.value,
            submitted.label("submitted"),
            sa.func.sum(both.c.approved).label("approved"),
        )
        .group_by(both.c.dimension, both.c.value)
        .order_by(both.c.dimension, submitted.desc(), both.c.value)
    )


_BREAKDOWNS = {dialect.value: _breakdowns_of_unit(dialect) for dialect in Dialect}


def _series_of_unit() -> sa.Select[*AnyRow]:
    both = _below_and_own(rm_series_daily, own_series(), ("day", "submitted", "approved"))
    submitted, approved = sa.func.sum(both.c.submitted), sa.func.sum(both.c.approved)
    return (
        sa.select(both.c.day, submitted.label("submitted"), approved.label("approved"))
        .where(both.c.day <= sa.bindparam("until", type_=sa.Date))
        .group_by(both.c.day)
        .having(sa.or_(submitted != 0, approved != 0))
        .order_by(both.c.day)
    )


_SERIES = _series_of_unit()
"""A unit's net changes per day: ``rm_series_daily`` counts the units below, the unit's own
initiatives are counted from their rows (as ``v_series`` counts them)."""


class ReadModels:
    """The queries the API asks; each opens its own short read-only connection.

    A single statement reads one snapshot by itself, so it runs without a transaction: a
    BEGIN and a ROLLBACK would be two more round trips per query for nothing.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._campaign_names: dict[str, str] = {}

    @property
    def engine(self) -> AsyncEngine:
        """For readers of tables beyond the read models (the dashboard's notifications)."""
        return self._engine

    async def _rows(
        self,
        query: sa.Select[*AnyRow] | sa.CompoundSelect[*AnyRow],
        parameters: Mapping[str, object] | None = None,
    ) -> Sequence[sa.Row[*AnyRow]]:
        async with self._single.connect() as connection:
            return (await connection.execute(query, parameters)).all()

    async def revision(self) -> int | None:
        """The read models' revision (``rm_revision``): answers computed at the same one
        still hold; None before the first batch."""
        rows = await self._rows(_REVISION)
        return int(rows[0][0]) if rows else None

    async def unit(self, unit_id: str) -> Unit | None:
        rows = await self._rows(_UNIT, {"unit_id": unit_id})
        return Unit._make(rows[0]) if rows else None

    async def covers(self, scope: Scope, unit_id: str) -> bool:
        """Whether the token's scope covers ``unit_id`` (the shared rule, on a short read)."""
        if scope.is_admin:
            return True
        async with self._single.connect() as connection:
            return await covers(connection, scope, unit_id)

    async def search_units(self, folded: str, *, scope: str | None, limit: int) -> list[Unit]:
        """Units whose folded name contains ``folded``, names starting with it first.

        ``scope`` limits the answer to one unit's subtree (None: every unit).
        """
        name = rm_units.c.name_folded
        query = (
            _UNITS.where(name.contains(folded, autoescape=True))
            .order_by(sa.case((name.startswith(folded, autoescape=True), 0), else_=1), name)
            .order_by(rm_units.c.unit_id)
            .limit(limit)
        )
        if scope is not None:
            query = query.where(_subtree_of(scope, rm_units.c.unit_id))
        return [Unit._make(row) for row in await self._rows(query)]

    async def ancestors(self, unit_id: str) -> list[Unit]:
        """The unit's ancestors, the root first, for a breadcrumb."""
        query = (
            _UNITS.join(rm_closure, rm_closure.c.ancestor_id == rm_units.c.unit_id)
            .where(rm_closure.c.descendant_id == unit_id, rm_closure.c.depth > 0)
            .order_by(rm_closure.c.depth.desc())
        )
        return [Unit._make(row) for row in await self._rows(query)]

    async def roots(self) -> list[Unit]:
        """The open units at the top of the tree, where an administrator starts."""
        query = _UNITS.where(rm_units.c.parent_id.is_(None), rm_units.c.state == OPEN)
        return [Unit._make(row) for row in await self._rows(query.order_by(rm_units.c.name))]

    async def placed(self, unit_id: str) -> Placed | None:
        """The unit and the campaigns it has a plan or any counted initiative in."""
        rows = await self._rows(_PLACED, {"unit_id": unit_id})
        if not rows:
            return None
        campaigns = [row.campaign_id for row in rows if row.campaign_id is not None]
        return Placed(Unit._make(rows[0][: len(Unit._fields)]), campaigns)

    async def campaign_names(self, campaign_ids: Sequence[str]) -> dict[str, str]:
        """Each campaign's name, its id where none is known.

        No read model keeps campaigns, so the names come from the ``campaign.defined`` facts
        of the reference stream; a campaign is defined once, so a name found is kept.
        """
        if any(c not in self._campaign_names for c in campaign_ids):
            query = sa.select(events.c.data).where(
                events.c.stream_id == REFERENCE_STREAM, events.c.type == "campaign.defined"
            )
            for row in await self._rows(query):
                self._campaign_names[row.data["campaign_id"]] = row.data["name"]
        return {c: self._campaign_names.get(c, c) for c in campaign_ids}

    async def phases(
        self,
        unit_id: str,
        campaign_id: str,
        *,
        as_of: dt.datetime | None = None,
        predecessors: Sequence[str] = (),
    ) -> list[PhaseFigures]:
        """The unit's phases and whole campaign, now or exactly as of an instant (with the
        phases and targets as they stood then); with ``predecessors``, restated: their
        initiatives added, each counted once, in the unit's own phases."""
        if as_of is None and not predecessors:
            current = {"unit_id": unit_id, "campaign_id": campaign_id}
            return _phase_figures(await self._rows(_CURRENT_PHASES, current))
        targets = rm_targets if as_of is None else _targets_as_of(as_of)
        at = LATEST_INSTANT if as_of is None else as_of
        counts = _counts_as_of(unit_id, campaign_id, at, predecessors)
        query = _figures(counts, campaign_id, targets).where(targets.c.unit_id == unit_id)
        figures = _phase_figures(await self._rows(query))
        if not figures:
            return figures
        authors = await self._rows(_authors_by_phase(unit_id, campaign_id, as_of, predecessors))
        found = {row.phase_id: int(row.authors) for row in authors}
        return [f._replace(authors=found.get(f.phase_id, 0)) for f in figures]

    async def participation(self, unit_id: str, campaign_id: str) -> tuple[int, int] | None:
        """The whole campaign's participation as its progress row holds it: initiatives
        registered or submitted and their distinct authors; None without a plan."""
        progress = rm_progress
        query = sa.select(
            sa.func.coalesce(sum(progress.c[name] for name in STATUS_COLUMNS), 0).label(
                "initiatives"
            ),
            progress.c.authors,
        ).where(
            progress.c.unit_id == unit_id,
            progress.c.campaign_id == campaign_id,
            progress.c.phase_id == WHOLE_CAMPAIGN,
        )
        rows = await self._rows(query)
        return (int(rows[0].initiatives), int(rows[0].authors)) if rows else None

    async def predecessors(self, unit_id: str) -> list[str]:
        """The units merged into ``unit_id``, directly or through a chain of merges."""
        found: list[str] = []
        frontier = [unit_id]
        while frontier:
            query = sa.select(rm_units.c.unit_id).where(rm_units.c.merged_into.in_(frontier))
            frontier = sorted(row.unit_id for row in await self._rows(query))
            found += frontier
        return found

    async def children_figures(
        self, unit_id: str, campaign_id: str
    ) -> list[tuple[Unit, list[PhaseFigures]]]:
        """The unit's open children (closed and merged units are history, not competitors),
        each with every phase of its plan in the campaign, none without a plan: one query."""
        asked = {"unit_id": unit_id, "campaign_id": campaign_id}
        rows = await self._rows(_CHILDREN_FIGURES, asked)
        width = len(Unit._fields)  # the target's unit id follows the unit's columns
        planned = [row for row in rows if row[width] is not None]
        phases: defaultdict[str, list[PhaseFigures]] = defaultdict(list)
        for figures in _phase_figures(planned, prefix=_TARGET):
            phases[figures.unit_id].append(figures)
        children = {row.unit_id: Unit._make(row[:width]) for row in rows}
        return [(child, phases[child.unit_id]) for child in children.values()]

    async def running_targets(
        self, unit_id: str, campaign_id: str, on: dt.date, phase_id: str | None
    ) -> list[RunningTarget]:
        """Each open descendant of ``unit_id`` (itself excluded) with its targeted phases that
        run on the local day ``on`` and whose target is not reached yet: ``phase_id`` only,
        or (None) every phase but the whole campaign; by unit, then start.

        One query whatever the subtree's size (the national union has ~126,000 units below
        it); judging the statuses is the caller's (``shared.domain.progress``).
        """
        targets, counts, units, parent = rm_targets, rm_progress, rm_units, _parent
        below = sa.select(rm_closure.c.descendant_id).where(
            rm_closure.c.ancestor_id == unit_id, rm_closure.c.depth > 0
        )
        value = _metric_value(counts, targets.c.metric)
        query = (
            sa.select(
                units.c.unit_id,
                units.c.name,
                units.c.level,
                units.c.parent_id,
                parent.c.name.label("parent_name"),
                targets.c.phase_id,
                targets.c.name.label("phase_name"),
                targets.c.starts_on,
                targets.c.ends_on,
                targets.c.metric,
                targets.c.required,
                value.label("value"),
                _metric_count(counts, Metric.SUBMITTED).label("submitted"),
            )
            .select_from(
                targets.outerjoin(counts, same_phase_row(counts, targets))
                .join(units, units.c.unit_id == targets.c.unit_id)
                .outerjoin(parent, parent.c.unit_id == units.c.parent_id)
            )
            .where(
                targets.c.campaign_id == campaign_id,
                targets.c.unit_id.in_(below),
                units.c.state == OPEN,
                targets.c.phase_id == phase_id
                if phase_id is not None
                else targets.c.phase_id != WHOLE_CAMPAIGN,
                targets.c.required.is_not(None),
                targets.c.starts_on <= on,
                targets.c.ends_on >= on,
                value < targets.c.required,
            )
            .order_by(targets.c.unit_id, targets.c.starts_on, targets.c.phase_id)
        )
        return [RunningTarget(**row._mapping) for row in await self._rows(query)]

    async def campaign_counts(
        self, unit_ids: Sequence[str], campaign_id: str
    ) -> dict[str, dict[str, int]]:
        """Status counts over the whole campaign of each of ``unit_ids``: what a child
        without a plan shows, as ``rm_progress`` has no row for it. The daily rollup counts
        the initiatives of the units below; a unit's own are counted here, from their rows
        (:attr:`services.projector.read_models.Aggregate.own_on_read`)."""
        rollup, own = rm_rollup_daily, rm_initiatives
        below = sa.select(rollup.c.unit_id, *(rollup.c[name] for name in STATUS_COLUMNS)).where(
            rollup.c.campaign_id == campaign_id, rollup.c.unit_id.in_(unit_ids)
        )
        at_unit = sa.select(
            own.c.unit_id,
            *(sa.case((own.c.status == name, 1), else_=0).label(name) for name in STATUS_COLUMNS),
        ).where(own.c.campaign_id == campaign_id, own.c.unit_id.in_(unit_ids))
        both = sa.union_all(below, at_unit).subquery()
        query = sa.select(
            both.c.unit_id, *(sa.func.sum(both.c[name]).label(name) for name in STATUS_COLUMNS)
        ).group_by(both.c.unit_id)
        return {
            row.unit_id: {name: int(row._mapping[name]) for name in STATUS_COLUMNS}
            for row in await self._rows(query)
        }

    async def series(
        self, unit_id: str, campaign_id: str, metric: Metric, until: dt.date | None
    ) -> list[tuple[dt.date, int]]:
        """Net change of ``metric`` per local day with any change, up to ``until``."""
        asked = {"unit_id": unit_id, "campaign_id": campaign_id, "until": until or dt.date.max}
        return [
            (row.day, int(row._mapping[metric.value])) for row in await self._rows(_SERIES, asked)
        ]

    async def breakdowns(self, unit_id: str, campaign_id: str) -> list[Breakdown]:
        """The unit's subtree by dimension and value: ``rm_breakdowns`` counts the units
        below, the unit's own initiatives are counted here from their rows."""
        query = _BREAKDOWNS[self._engine.dialect.name]
        asked = {"unit_id": unit_id, "campaign_id": campaign_id}
        return [Breakdown(**row._mapping) for row in await self._rows(query, asked)]

    async def initiatives(
        self,
        unit_id: str,
        *,
        campaign_id: str | None,
        folded_title: str,
        status: str | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[Initiative]]:
        """One page of the initiatives counting for the subtree, newest first, and the total."""
        table = rm_initiatives
        conditions = [
            _counting_for([unit_id], table),
            table.c.title_folded.contains(folded_title, autoescape=True),
        ]
        if campaign_id is not None:
            conditions.append(table.c.campaign_id == campaign_id)
        if status is not None:
            conditions.append(table.c.status == status)
        total = sa.select(sa.func.count()).select_from(table).where(*conditions)
        owner = rm_units.alias("owner")
        page = (
            sa.select(
                *(table.c[f.name] for f in fields(Initiative) if f.name != "unit_name"),
                owner.c.name.label("unit_name"),
            )
            .select_from(table.outerjoin(owner, owner.c.unit_id == table.c.unit_id))
            .where(*conditions)
            .order_by(
                sa.func.coalesce(table.c.first_submitted_at, table.c.registered_at).desc(),
                table.c.initiative_id.desc(),
            )
            .offset(offset)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            count = (await connection.execute(total)).scalar_one()
            rows = (await connection.execute(page)).all()
        return count, [Initiative(**row._mapping) for row in rows]
