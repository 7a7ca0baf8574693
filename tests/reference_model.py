"""A deliberately simple model of the projector's read models, recomputed from scratch.

``expected_tables(records)`` folds the stored events (in position order) into the final
state of every initiative and of the hierarchy, then derives each read-model table with
plain loops over that final state. Nothing here is incremental, and of the projector only
its formatting of a target the domain resolved is used (``target_rows``): this is the
specification the incremental projector is compared with.

Semantic choices (mirroring ``services/projector``, described here so they are visible):

- Reference facts take effect at their ``occurred_at`` (the domain's effective-dated
  ``Hierarchy`` and ``Plans``, applied in stream order with each fact's own time).
- An initiative's attribution instant is its first submission, else its registration. It
  counts for the unit it was last filed under, followed through the merges in effect at that
  instant, and for every ancestor of that unit *at that instant*; its bucket date (the local
  date of that instant) picks the phase of each ancestor's plan *at that instant*. Later
  reorganisations never move it.
- The closure is the tree now: a merged unit keeps only its own row ``(u, u, 0)``. The
  lineage is the tree through time, evaluated by brute force at every instant where any link
  changes (not with ``Hierarchy.segments``, which the projector uses).
- Targets are resolved by brute force at every instant where a link, a plan or a unit's state
  changes, until the unit is merged; equal consecutive versions are one row, and ``rm_targets``
  holds each phase's latest version.
- Rows whose counts are all zero are dropped (the projector may keep rows that returned to
  zero).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from services.projector.targets import target_rows
from shared.contracts.base import EARLIEST_INSTANT, LATEST_INSTANT, REFERENCE_STREAM
from shared.contracts.campaigns import CampaignDefined, PlanSet
from shared.contracts.initiatives import (
    InitiativeRegistered,
    InitiativeResubmitted,
    InitiativeSubmitted,
    InitiativeUpdated,
)
from shared.contracts.recorded import RecordedEvent
from shared.contracts.units import UnitRegistered
from shared.domain.hierarchy import Hierarchy, UnitState
from shared.domain.participation import author_key
from shared.domain.phases import local_date, meets
from shared.domain.plans import Plans, effective_plan

STATUSES = (
    "registered",
    "under_review",
    "revision_requested",
    "approved",
    "rejected",
    "recognized",
    "withdrawn",
)
"""The status columns of ``rm_rollup_daily`` and ``rm_progress``, in schema order."""

SUBMITTED = {"under_review", "revision_requested", "approved", "rejected", "recognized"}
APPROVED = {"approved", "recognized"}

STATUS_AFTER: dict[str, str | None] = {
    "initiative.registered": "registered",
    "initiative.submitted": "under_review",
    "initiative.revision_requested": "revision_requested",
    "initiative.resubmitted": "under_review",
    "initiative.approved": "approved",
    "initiative.rejected": "rejected",
    "initiative.recognized": "recognized",
    "initiative.withdrawn": "withdrawn",
    "initiative.updated": None,
}
"""Every stored fact was accepted by ingest, so its type alone gives the next status (None:
it stays)."""

WHOLE_CAMPAIGN = ""

Counts = tuple[int, ...]


@dataclass
class Initiative:
    """What the read models need to know about one initiative after all its facts."""

    initiative_id: str
    campaign_id: str
    filed_under: str
    status: str = "registered"
    title: str = ""
    category: str | None = None
    solution_type: str | None = None
    author_types: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    """Distinct author keys."""
    registered_at: dt.datetime | None = None
    first_submitted_at: dt.datetime | None = None
    approved_at: dt.datetime | None = None
    rejected_at: dt.datetime | None = None
    recognized_at: dt.datetime | None = None
    withdrawn_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    history: list[tuple[int, dt.datetime, str]] = field(default_factory=list)
    """(stream version, occurred at, status after) per fact."""


@dataclass
class World:
    """The final state of everything after the whole stream."""

    hierarchy: Hierarchy = field(default_factory=Hierarchy)
    plans: Plans = field(default_factory=Plans)
    zones: dict[str, ZoneInfo] = field(default_factory=dict)
    units: list[str] = field(default_factory=list)
    initiatives: dict[str, Initiative] = field(default_factory=dict)

    def instants(self) -> list[dt.datetime]:
        """Every instant at which links, plans or a unit's state may change, the start first."""
        found = {EARLIEST_INSTANT, *self.hierarchy.changes(), *self.plans.all_changes()}
        found |= {self.hierarchy.open_until(u) for u in self.units} - {LATEST_INSTANT}
        return sorted(found)


@dataclass
class Tables:
    """Read-model rows keyed by primary key; values are the non-key columns."""

    initiatives: dict[str, tuple[object, ...]]
    closure: set[tuple[str, str, int]]
    lineage: set[tuple[str, str, int, dt.datetime, dt.datetime]]
    rollup: dict[tuple[str, str, dt.date], Counts]
    progress: dict[tuple[str, str, str], Counts]
    targets: dict[tuple[str, str, str], tuple[object, ...]]
    target_history: dict[tuple[str, str, str, dt.datetime], tuple[object, ...]]
    series: dict[tuple[str, str, dt.date], Counts]
    breakdowns: dict[tuple[str, str, str, str], Counts]
    authors: set[tuple[str, str]]
    progress_authors: dict[tuple[str, str, str], int]
    """Distinct authors per ``rm_progress`` row (rows with none dropped)."""


TABLES = (
    "initiatives",
    "authors",
    "progress_authors",
    "closure",
    "lineage",
    "rollup",
    "progress",
    "targets",
    "target_history",
    "series",
    "breakdowns",
)
AGGREGATES = ("rollup", "progress", "series", "breakdowns")


def fold_world(records: Iterable[RecordedEvent]) -> World:
    world = World()
    for record in sorted(records, key=lambda r: r.position):
        fact = record.fact()
        if record.stream_id == REFERENCE_STREAM:
            if isinstance(fact, CampaignDefined):
                world.zones[fact.campaign_id] = ZoneInfo(fact.time_zone)
            elif isinstance(fact, PlanSet):
                world.plans.set(fact, record.occurred_at)
            else:
                if isinstance(fact, UnitRegistered):
                    world.units.append(fact.unit_id)
                world.hierarchy.apply(fact, record.occurred_at)
            continue
        if record.type not in STATUS_AFTER:
            continue
        at = record.occurred_at
        initiative_id = record.stream_id.removeprefix("initiative-")
        state = world.initiatives.get(initiative_id)
        if isinstance(fact, InitiativeRegistered | InitiativeSubmitted):
            if state is None:
                state = Initiative(initiative_id, fact.campaign_id, fact.unit_id)
                world.initiatives[initiative_id] = state
            state.filed_under = fact.unit_id
            state.title = fact.title
        assert state is not None, f"{record.type} before the initiative exists"
        state.status = STATUS_AFTER[record.type] or state.status
        state.updated_at = at
        state.history.append((record.stream_version, at, state.status))
        if isinstance(fact, InitiativeRegistered):
            state.registered_at = at
        elif isinstance(fact, InitiativeSubmitted):
            state.category = fact.category.value
            state.solution_type = fact.solution_type.value
            state.author_types = tuple(dict.fromkeys(a.author_type.value for a in fact.authors))
            state.authors = tuple(dict.fromkeys(author_key(a) for a in fact.authors))
            if state.first_submitted_at is None:
                state.first_submitted_at = at
        elif isinstance(fact, InitiativeResubmitted):
            if fact.title is not None:
                state.title = fact.title
        elif isinstance(fact, InitiativeUpdated):
            _update(state, fact)
        elif state.status == "approved":
            state.approved_at = at
        elif state.status == "rejected":
            state.rejected_at = at
        elif state.status == "recognized":
            state.recognized_at = at
        elif state.status == "withdrawn":
            state.withdrawn_at = at
    return world


def _update(state: Initiative, fact: InitiativeUpdated) -> None:
    """Only the fields given change; the status, unit and attribution stay."""
    state.title = fact.title or state.title
    state.category = state.category if fact.category is None else fact.category.value
    if fact.solution_type is not None:
        state.solution_type = fact.solution_type.value
    if fact.authors is not None:
        state.author_types = tuple(dict.fromkeys(a.author_type.value for a in fact.authors))
        state.authors = tuple(dict.fromkeys(author_key(a) for a in fact.authors))


def _add(table: dict[object, list[int]], key: object, index: int, amount: int = 1) -> None:
    table[key][index] += amount


def _nonzero(table: Mapping[object, list[int]]) -> dict[object, Counts]:
    return {key: tuple(counts) for key, counts in table.items() if any(counts)}


def expected_tables(records: Iterable[RecordedEvent]) -> Tables:
    world = fold_world(records)
    return tables_of(world)


def tables_of(world: World) -> Tables:
    hierarchy, plans = world.hierarchy, world.plans
    instants = world.instants()

    closure: set[tuple[str, str, int]] = set()
    for unit in world.units:
        if hierarchy.get(unit).state is UnitState.MERGED:
            closure.add((unit, unit, 0))
        else:
            closure |= {(a, unit, d) for d, a in enumerate(hierarchy.ancestors(unit))}

    rows: dict[str, tuple[object, ...]] = {}
    rollup: dict[object, list[int]] = defaultdict(lambda: [0] * len(STATUSES))
    progress: dict[object, list[int]] = defaultdict(lambda: [0] * len(STATUSES))
    series: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    breakdowns: dict[object, list[int]] = defaultdict(lambda: [0, 0])
    refs: dict[tuple[str, str, str, str], int] = defaultdict(int)
    for i in world.initiatives.values():
        zone = world.zones[i.campaign_id]
        anchor = i.first_submitted_at or i.registered_at
        assert anchor is not None
        counting_unit = hierarchy.counting_unit(i.filed_under, anchor)
        bucket = local_date(anchor, zone)
        rows[i.initiative_id] = (
            i.campaign_id,
            counting_unit,
            i.filed_under,
            anchor,
            i.status,
            i.title,
            i.category,
            i.solution_type,
            i.author_types,
            i.authors,
            bucket,
            None if i.approved_at is None else local_date(i.approved_at, zone),
            None if i.withdrawn_at is None else local_date(i.withdrawn_at, zone),
            i.registered_at,
            i.first_submitted_at,
            i.approved_at,
            i.rejected_at,
            i.recognized_at,
            i.withdrawn_at,
            i.updated_at,
        )
        status = STATUSES.index(i.status)
        submitted = int(i.status in SUBMITTED)
        approved = int(i.status in APPROVED)
        for unit in hierarchy.ancestors(counting_unit, anchor):
            c = i.campaign_id
            plan = effective_plan(hierarchy, plans, c, unit, anchor)
            if plan is not None:
                for phase in plan.phases:
                    if phase.starts_on <= bucket <= phase.ends_on:
                        _add(progress, (unit, c, phase.phase_id), status)
                        _add(progress, (unit, c, WHOLE_CAMPAIGN), status)
                        for key in i.authors:
                            refs[(unit, c, phase.phase_id, key)] += 1
                            refs[(unit, c, WHOLE_CAMPAIGN, key)] += 1
            if unit == counting_unit:  # the unit's own are counted on read but for progress
                continue
            _add(rollup, (unit, c, bucket), status)
            if i.first_submitted_at is not None:
                _add(series, (unit, c, local_date(i.first_submitted_at, zone)), 0)
                if i.withdrawn_at is not None:
                    _add(series, (unit, c, local_date(i.withdrawn_at, zone)), 0, -1)
            if i.approved_at is not None:
                _add(series, (unit, c, local_date(i.approved_at, zone)), 1)
            cells = [("category", i.category), ("solution_type", i.solution_type)]
            cells += [("author_type", kind) for kind in i.author_types]
            for dimension, value in cells:
                if value is not None:
                    _add(breakdowns, (unit, c, dimension, value), 0, submitted)
                    _add(breakdowns, (unit, c, dimension, value), 1, approved)

    history: dict[tuple[str, str, str, dt.datetime], tuple[object, ...]] = {}
    targets: dict[tuple[str, str, str], tuple[object, ...]] = {}
    for campaign_id, zone in world.zones.items():
        for unit in world.units:
            versions: list[tuple[str, dt.datetime, dt.datetime, tuple[object, ...]]] = []
            latest: dict[str, int] = {}
            for since, until in zip(instants, [*instants[1:], LATEST_INSTANT], strict=True):
                if hierarchy.get(unit, since).state is UnitState.MERGED:
                    break
                for phase_id, values in _targets_at(world, campaign_id, unit, since).items():
                    index = latest.get(phase_id)
                    if index is not None and versions[index][2:] == (since, values):
                        versions[index] = (phase_id, versions[index][1], until, values)
                    else:
                        latest[phase_id] = len(versions)
                        versions.append((phase_id, since, until, values))
            for phase_id, start, end, values in versions:
                _, starts_on, ends_on = values[:3]
                listed = meets(starts_on, ends_on, start, end, zone)  # type: ignore[arg-type]
                history[(unit, campaign_id, phase_id, start)] = (end, listed, *values)
                if listed:
                    targets[(unit, campaign_id, phase_id)] = values

    return Tables(
        initiatives=rows,
        closure=closure,
        lineage=_lineage(world, instants),
        rollup=_nonzero(rollup),  # type: ignore[arg-type]
        progress=_nonzero(progress),  # type: ignore[arg-type]
        targets=targets,
        target_history=history,
        series=_nonzero(series),  # type: ignore[arg-type]
        breakdowns=_nonzero(breakdowns),  # type: ignore[arg-type]
        authors={(i.initiative_id, key) for i in world.initiatives.values() for key in i.authors},
        progress_authors=_distinct(refs),
    )


def _distinct(refs: Mapping[tuple[str, str, str, str], int]) -> dict[tuple[str, str, str], int]:
    found: dict[tuple[str, str, str], int] = defaultdict(int)
    for (unit, campaign, phase, _), count in refs.items():
        if count:
            found[(unit, campaign, phase)] += 1
    return dict(found)


def _targets_at(
    world: World, campaign_id: str, unit: str, at: dt.datetime
) -> dict[str, tuple[object, ...]]:
    """The unit's phases and resolved targets at ``at`` (the domain's resolution, formatted
    as the projector stores it)."""
    zone = world.zones[campaign_id]
    path = world.hierarchy.ancestors(unit, at)
    return dict(target_rows(world.hierarchy, world.plans, campaign_id, zone, path, at))


def _lineage(
    world: World, instants: list[dt.datetime]
) -> set[tuple[str, str, int, dt.datetime, dt.datetime]]:
    """(ancestor, descendant, depth, from, to): the unit itself for good, and each ancestor
    for the stretches it stood above the unit (while the unit was not merged)."""
    hierarchy = world.hierarchy
    found: set[tuple[str, str, int, dt.datetime, dt.datetime]] = set()
    for unit in world.units:
        found.add((unit, unit, 0, EARLIEST_INSTANT, LATEST_INSTANT))
        spans: dict[tuple[str, int], list[list[dt.datetime]]] = defaultdict(list)
        for since, until in zip(instants, [*instants[1:], LATEST_INSTANT], strict=True):
            if hierarchy.get(unit, since).state is UnitState.MERGED:
                continue
            for depth, ancestor in enumerate(hierarchy.ancestors(unit, since)[1:], start=1):
                stretches = spans[(ancestor, depth)]
                if stretches and stretches[-1][1] == since:
                    stretches[-1][1] = until
                else:
                    stretches.append([since, until])
        found |= {
            (ancestor, unit, depth, start, end)
            for (ancestor, depth), stretches in spans.items()
            for start, end in stretches
        }
    return found


def without_units(tables: Tables, units: frozenset[str]) -> Tables:
    """``tables`` without the aggregate rows of ``units``."""
    kept = {
        name: {key: value for key, value in getattr(tables, name).items() if key[0] not in units}
        for name in AGGREGATES
    }
    return Tables(
        initiatives=tables.initiatives,
        closure=tables.closure,
        lineage=tables.lineage,
        targets=tables.targets,
        target_history=tables.target_history,
        authors=tables.authors,
        progress_authors={k: v for k, v in tables.progress_authors.items() if k[0] not in units},
        **kept,  # type: ignore[arg-type]
    )


def differences(actual: Tables, expected: Tables) -> dict[str, dict[str, object]]:
    """Per table, the rows only one side has or whose values differ (empty when equal)."""
    found: dict[str, dict[str, object]] = {}
    for name in TABLES:
        got, want = getattr(actual, name), getattr(expected, name)
        if got == want:
            continue
        if isinstance(got, set):
            found[name] = {"projector only": sorted(got - want), "model only": sorted(want - got)}
            continue
        found[name] = {
            "projector only": {k: got[k] for k in sorted(got.keys() - want.keys(), key=str)},
            "model only": {k: want[k] for k in sorted(want.keys() - got.keys(), key=str)},
            "differ (projector, model)": {
                k: (got[k], want[k])
                for k in sorted(got.keys() & want.keys(), key=str)
                if got[k] != want[k]
            },
        }
    return found


def figures_as_of(
    world: World, tables: Tables, unit_id: str, campaign_id: str, at: dt.datetime
) -> dict[str, tuple[tuple[object, ...], Counts]]:
    """What "as of ``at``" answers for a unit: phase id → (its target row as it stood then,
    its status counts then).

    An initiative counts with its status after its latest fact at or before ``at`` (by
    stream version among those), where it is attributed for good (its attribution instant
    and bucket date as the projector stores them now).
    """
    listed: dict[str, tuple[dt.datetime, tuple[object, ...]]] = {}
    for (unit, campaign, phase_id, since), (_, is_listed, *values) in tables.target_history.items():
        if (unit, campaign, is_listed) != (unit_id, campaign_id, True) or since > at:
            continue
        if phase_id not in listed or listed[phase_id][0] < since:
            listed[phase_id] = (since, tuple(values))
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(STATUSES))
    hierarchy, zone = world.hierarchy, world.zones[campaign_id]
    for i in world.initiatives.values():
        seen = [entry for entry in i.history if entry[1] <= at]
        if i.campaign_id != campaign_id or not seen:
            continue
        status = max(seen)[2]
        anchor = i.first_submitted_at or i.registered_at
        assert anchor is not None
        if unit_id not in hierarchy.ancestors(
            hierarchy.counting_unit(i.filed_under, anchor), anchor
        ):
            continue
        plan = effective_plan(hierarchy, world.plans, campaign_id, unit_id, anchor)
        bucket = local_date(anchor, zone)
        for phase in plan.phases if plan is not None else ():
            if phase.starts_on <= bucket <= phase.ends_on:
                counts[phase.phase_id][STATUSES.index(status)] += 1
                counts[WHOLE_CAMPAIGN][STATUSES.index(status)] += 1
    return {
        phase_id: (values, tuple(counts.get(phase_id, [0] * len(STATUSES))))
        for phase_id, (_, values) in listed.items()
    }
