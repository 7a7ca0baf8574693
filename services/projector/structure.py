"""Reference facts applied to the read models: units, the tree now and through time, and the
re-attribution a late fact calls for.

A fact takes effect at its own instant. Initiatives attributed (first submitted) before it
keep counting where they were counted; those attributed after it and already counted (the
fact arrived late) are taken off the ancestors and phases they were counted for and added
where the fact puts them, in the same transaction. Returns the units whose targets must be
refreshed and the progress the re-attribution moved (the notifier must hear of both).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Awaitable, Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.attribution import Attribution
from services.projector.authors import counted_for, counted_stored, distinct_changes
from services.projector.deltas import add_into, row_changes, vectors
from services.projector.fold import attributed
from services.projector.read_models import Key, add_counts
from services.projector.schema import (
    STATUS_COLUMNS,
    rm_closure,
    rm_lineage,
    rm_progress,
    rm_units,
)
from services.projector.tables import load_attributed_since, save_rows
from shared.contracts.base import EARLIEST_INSTANT, LATEST_INSTANT, EventData
from shared.contracts.campaigns import CampaignDefined, PlanSet
from shared.contracts.recorded import RecordedEvent
from shared.contracts.units import (
    UnitClosed,
    UnitLevelChanged,
    UnitMembershipReported,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
)
from shared.domain.hierarchy import UnitState
from shared.persistence.lookup import among
from shared.persistence.upsert import insert_rows, upsert_rows
from shared.reference import ReferenceView
from shared.text import fold_diacritics

UNIT_COLUMNS = (
    "unit_id",
    "name",
    "name_folded",
    "level",
    "parent_id",
    "cluster",
    "state",
    "merged_into",
)


@dataclass
class Applied:
    """What reference facts changed beyond the units' own rows."""

    refresh: set[str] = field(default_factory=set)
    """Units whose targets must be rewritten."""
    moved: defaultdict[Key, list[int]] = field(default_factory=lambda: vectors(len(STATUS_COLUMNS)))
    """Status counts the re-attribution added to (or, negative, took off) progress rows."""

    def __ior__(self, other: Applied) -> Applied:
        self.refresh |= other.refresh
        add_into(self.moved, other.moved)
        return self


async def apply_references(
    connection: AsyncConnection, view: ReferenceView, records: Sequence[RecordedEvent]
) -> Applied:
    """Apply reference facts in order to ``view`` and to the read models.

    Registrations and membership reports are written together (one statement per table for
    each run of them between other facts): a national load registers 126,000 units at once.
    """
    applied = Applied()
    registered: list[str] = []
    for record in records:
        fact = record.fact()
        if isinstance(fact, UnitRegistered):
            view.apply(record)
            registered.append(fact.unit_id)
            applied.refresh.add(fact.unit_id)
            continue
        if isinstance(fact, UnitMembershipReported):
            view.apply(record)
            applied.refresh |= ever_above(view, fact.unit_id)
            continue
        await _register(connection, view, registered)
        registered = []
        applied |= await _change(connection, view, record, fact)
    await _register(connection, view, registered)
    return applied


async def _register(connection: AsyncConnection, view: ReferenceView, units: list[str]) -> None:
    """Rows of newly registered units: nothing of theirs is stored yet, so plain inserts."""
    if units:
        await insert_rows(connection, rm_units, UNIT_COLUMNS, [_unit_row(view, u) for u in units])
        await _link(connection, view, units)


async def _change(
    connection: AsyncConnection, view: ReferenceView, record: RecordedEvent, fact: EventData
) -> Applied:
    """Apply a fact other than a registration or a membership report (batched above)."""
    try:
        change = CHANGES[type(fact)]
    except KeyError:
        raise TypeError(f"the read models have no rule for {fact.type} facts") from None
    return await change(connection, view, record, fact)


async def _plan_set(
    connection: AsyncConnection, view: ReferenceView, record: RecordedEvent, fact: PlanSet
) -> Applied:
    units = {fact.unit_id, *view.hierarchy.ever_below(fact.unit_id)}
    since = view.plans.effective_from(fact, record.occurred_at)
    moved = await _reattribute(connection, view, record, units, since, fact.campaign_id)
    return Applied(units, moved)


async def _relinked(
    connection: AsyncConnection,
    view: ReferenceView,
    record: RecordedEvent,
    fact: UnitMoved | UnitMerged,
) -> Applied:
    """A move or merge changes where units stand, so where initiatives attributed after it
    count."""
    units = {fact.unit_id, *view.hierarchy.ever_below(fact.unit_id)}
    moved = await _reattribute(connection, view, record, units, record.occurred_at, None)
    await _relink(connection, view, sorted(units))
    refresh = units | ever_above(view, fact.unit_id)
    if isinstance(fact, UnitMerged):
        refresh |= ever_above(view, fact.into_unit_id)
    return Applied(refresh, moved)


async def _closed(
    connection: AsyncConnection, view: ReferenceView, record: RecordedEvent, fact: UnitClosed
) -> Applied:
    view.apply(record)
    await _save_units(connection, view, [fact.unit_id])
    return Applied(ever_above(view, fact.unit_id))


async def _described(
    connection: AsyncConnection,
    view: ReferenceView,
    record: RecordedEvent,
    fact: UnitRenamed | UnitLevelChanged,
) -> Applied:
    view.apply(record)
    await _save_units(connection, view, [fact.unit_id])
    return Applied()


async def _campaign(
    connection: AsyncConnection, view: ReferenceView, record: RecordedEvent, fact: CampaignDefined
) -> Applied:
    """A campaign's phases reach the tables with the plans that use them."""
    view.apply(record)
    return Applied()


BATCHED = (UnitRegistered, UnitMembershipReported)
"""Facts applied in runs (a national load registers 126,000 units at once)."""

CHANGES: dict[
    type[EventData],
    Callable[[AsyncConnection, ReferenceView, RecordedEvent, Any], Awaitable[Applied]],
] = {
    PlanSet: _plan_set,
    UnitMoved: _relinked,
    UnitMerged: _relinked,
    UnitClosed: _closed,
    UnitRenamed: _described,
    UnitLevelChanged: _described,
    CampaignDefined: _campaign,
}
"""How every other reference fact changes the read models; with :data:`BATCHED` it names
every reference fact (a test holds the two to the event registry)."""


def ever_above(view: ReferenceView, unit_id: str) -> set[str]:
    """The unit and every unit it stood below at some instant."""
    return {unit for segment in view.hierarchy.segments(unit_id) for unit in segment.path} | {
        unit_id
    }


async def _reattribute(
    connection: AsyncConnection,
    view: ReferenceView,
    record: RecordedEvent,
    units: Collection[str],
    since: dt.datetime,
    campaign_id: str | None,
) -> defaultdict[Key, list[int]]:
    """Apply ``record`` to the view, moving the figures of initiatives filed under ``units``
    and attributed from ``since`` on from where they counted to where they count now; the
    progress counts moved."""
    rows = await load_attributed_since(connection, units, since, campaign_id)
    if not rows:
        view.apply(record)
        return vectors(len(STATUS_COLUMNS))
    before = Attribution(view)
    deltas = row_changes(before, rows, ())
    authors = {author for row in rows for author in row.author_keys}
    stored = await counted_stored(connection, authors, before)
    taken = counted_for(rows, before)
    view.apply(record)
    after = Attribution(view)
    now = [attributed(row, after) for row in rows]
    moved = {row.initiative_id: row for row, was in zip(now, rows, strict=True) if row is not was}
    spread = row_changes(after, (), now, deltas)
    await spread.write(connection)
    now_counted = counted_for(now, after)
    authors_moved = distinct_changes(stored, taken, now_counted)
    await add_counts(connection, rm_progress, ["authors"], authors_moved)
    await spread.prune(connection)
    await save_rows(connection, view.campaigns, moved)
    return spread.progress


async def _save_units(
    connection: AsyncConnection, view: ReferenceView, units: Sequence[str]
) -> None:
    await upsert_rows(
        connection, rm_units, ["unit_id"], UNIT_COLUMNS, [_unit_row(view, u) for u in units]
    )


async def _relink(connection: AsyncConnection, view: ReferenceView, units: Sequence[str]) -> None:
    """Rewrite the ``rm_units`` rows of ``units``, their closure rows (the tree now) and
    their lineage rows (the tree through time)."""
    await _save_units(connection, view, units)
    for table in (rm_closure, rm_lineage):
        for condition in among(connection.dialect, table.c.descendant_id, units):
            await connection.execute(table.delete().where(condition))
    await _link(connection, view, units)


async def _link(connection: AsyncConnection, view: ReferenceView, units: Sequence[str]) -> None:
    """The closure and lineage rows of ``units``, one statement (or ``COPY``) per table: a
    national load links 126,000 units, a million rows, and as an ``executemany`` (a
    statement per row on the server) they took 11 s more of a national rebuild's catch-up."""
    await insert_rows(connection, rm_closure, CLOSURE_COLUMNS, list(_closure_rows(view, units)))
    await insert_rows(connection, rm_lineage, LINEAGE_COLUMNS, list(_lineage_rows(view, units)))


def _unit_row(view: ReferenceView, unit_id: str) -> tuple[object, ...]:
    hierarchy = view.hierarchy
    unit = hierarchy.get(unit_id)
    return (
        unit.unit_id,
        unit.name,
        fold_diacritics(unit.name),
        unit.level.value,
        hierarchy.parent(unit_id),
        unit.cluster,
        unit.state.value,
        unit.merged_into,
    )


CLOSURE_COLUMNS = ("ancestor_id", "descendant_id", "depth")
LINEAGE_COLUMNS = ("ancestor_id", "descendant_id", "depth", "valid_from", "valid_to")


def _closure_rows(view: ReferenceView, units: Iterable[str]) -> Iterator[tuple[str, str, int]]:
    """The tree now: a merged unit has left it and keeps only its own row."""
    hierarchy = view.hierarchy
    for unit in units:
        merged = hierarchy.get(unit).state is UnitState.MERGED
        path = (unit,) if merged else hierarchy.ancestors(unit)
        for depth, ancestor in enumerate(path):
            yield ancestor, unit, depth


Lineage = tuple[str, str, int, dt.datetime, dt.datetime]


def _lineage_rows(view: ReferenceView, units: Iterable[str]) -> Iterator[Lineage]:
    """The tree through time: one row per (ancestor, depth) and stretch of time; a unit is
    its own ancestor for good (its history stays readable after a merge)."""
    for unit in units:
        yield unit, unit, 0, EARLIEST_INSTANT, LATEST_INSTANT
        segments = view.hierarchy.segments(unit)
        if len(segments) == 1:  # most units: never moved, never merged
            only = segments[0]
            for depth, ancestor in enumerate(only.path[1:], start=1):
                yield ancestor, unit, depth, only.since, only.until
            continue
        rows: list[Lineage] = []
        latest: dict[tuple[str, int], int] = {}
        for segment in segments:
            for depth, ancestor in enumerate(segment.path[1:], start=1):
                index = latest.get((ancestor, depth))
                if index is not None and rows[index][4] == segment.since:
                    rows[index] = (*rows[index][:4], segment.until)
                else:
                    latest[(ancestor, depth)] = len(rows)
                    rows.append((ancestor, unit, depth, segment.since, segment.until))
        yield from rows
