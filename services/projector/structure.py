"""Reference facts applied to the read models: units, the closure table, and re-attribution.

Moving or merging a unit moves its whole subtree's figures from the old ancestors to the
new ones in the same transaction, by subtracting and adding the unit's own rollup rows
(which already include its subtree). Returns the units whose targets must be refreshed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.deltas import METRIC_COLUMNS, add_counts, vectors
from shared.contracts.base import EventData
from shared.contracts.campaigns import PlanSet
from shared.contracts.recorded import RecordedEvent
from shared.contracts.units import (
    UnitClosed,
    UnitMembershipReported,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
)
from shared.persistence.schema import (
    STATUS_COLUMNS,
    rm_breakdowns,
    rm_closure,
    rm_initiatives,
    rm_rollup_daily,
    rm_series_daily,
    rm_units,
)
from shared.reference import ReferenceView
from shared.text import fold

AGGREGATES = (
    (rm_rollup_daily, STATUS_COLUMNS),
    (rm_series_daily, METRIC_COLUMNS),
    (rm_breakdowns, METRIC_COLUMNS),
)


async def apply_references(
    connection: AsyncConnection, view: ReferenceView, records: Sequence[RecordedEvent]
) -> set[str]:
    """Apply reference facts in order to ``view`` and to the read models; the units whose
    targets must be refreshed.

    Registrations are written together (one statement per table for each run of them
    between reorganisations): a national load registers 126,000 units at once.
    """
    refresh: set[str] = set()
    registered: list[str] = []
    for record in records:
        fact = record.fact()
        if isinstance(fact, UnitMoved | UnitMerged | UnitClosed):
            await _register(connection, view, registered)
            registered = []
            refresh |= await _reorganise(connection, view, record, fact)
            continue
        view.apply(record)
        if isinstance(fact, UnitRegistered):
            registered.append(fact.unit_id)
            refresh.add(fact.unit_id)
        else:
            refresh |= _target_scope(view, fact)
    await _register(connection, view, registered)
    return refresh


async def _register(connection: AsyncConnection, view: ReferenceView, units: list[str]) -> None:
    """Rows of newly registered units, and their closure rows (themselves included)."""
    if not units:
        return
    await connection.execute(rm_units.insert(), [_unit_row(view, unit) for unit in units])
    await connection.execute(
        rm_closure.insert(),
        [
            {"ancestor_id": ancestor, "descendant_id": unit, "depth": depth}
            for unit in units
            for depth, ancestor in enumerate(view.hierarchy.ancestors(unit))
        ],
    )


async def _reorganise(
    connection: AsyncConnection,
    view: ReferenceView,
    record: RecordedEvent,
    fact: UnitMoved | UnitMerged | UnitClosed,
) -> set[str]:
    """Apply a move, merge or closure, re-attributing the figures already counted."""
    hierarchy = view.hierarchy
    if isinstance(fact, UnitMoved):
        before = hierarchy.ancestors(fact.unit_id)[1:]
        view.apply(record)
        subtree = [fact.unit_id, *hierarchy.descendants(fact.unit_id)]
        after = hierarchy.ancestors(fact.unit_id)[1:]
        await _set_parents(connection, view, [fact.unit_id])
        await _rehome(connection, view, set(subtree))
        await _move_totals(connection, fact.unit_id, before, after)
        return {*subtree, *before, *after}
    if isinstance(fact, UnitMerged):
        before = hierarchy.ancestors(fact.unit_id)[1:]
        children = hierarchy.children(fact.unit_id)
        view.apply(record)
        moved = [d for child in children for d in (child, *hierarchy.descendants(child))]
        after = hierarchy.ancestors(fact.into_unit_id)
        await _set_parents(connection, view, [fact.unit_id, *children])
        await _rehome(connection, view, set(moved))
        await connection.execute(
            rm_closure.delete().where(
                rm_closure.c.descendant_id == fact.unit_id,
                rm_closure.c.ancestor_id != fact.unit_id,
            )
        )
        await connection.execute(
            rm_initiatives.update()
            .where(rm_initiatives.c.unit_id == fact.unit_id)
            .values(unit_id=fact.into_unit_id)
        )
        await _move_totals(connection, fact.unit_id, before, after)
        return {fact.unit_id, *moved, *before, *after}
    view.apply(record)
    await _set_parents(connection, view, [fact.unit_id])
    return set(hierarchy.ancestors(fact.unit_id))


def _target_scope(view: ReferenceView, fact: EventData) -> set[str]:
    if isinstance(fact, UnitMembershipReported):
        return set(view.hierarchy.ancestors(fact.unit_id))
    if isinstance(fact, PlanSet):
        return {fact.unit_id, *view.hierarchy.descendants(fact.unit_id)}
    return set()


def _unit_row(view: ReferenceView, unit_id: str) -> dict[str, object]:
    unit = view.hierarchy.get(unit_id)
    return {
        "unit_id": unit.unit_id,
        "name": unit.name,
        "name_folded": fold(unit.name),
        "level": unit.level.value,
        "parent_id": unit.parent_id,
        "cluster": unit.cluster,
        "state": unit.state.value,
        "merged_into": unit.merged_into,
    }


async def _set_parents(
    connection: AsyncConnection, view: ReferenceView, unit_ids: Sequence[str]
) -> None:
    for unit_id in unit_ids:
        row = _unit_row(view, unit_id)
        await connection.execute(
            rm_units.update()
            .where(rm_units.c.unit_id == unit_id)
            .values(parent_id=row["parent_id"], state=row["state"], merged_into=row["merged_into"])
        )


async def _rehome(connection: AsyncConnection, view: ReferenceView, moved: Collection[str]) -> None:
    """Relink the ``moved`` units to their (new) ancestors outside the moved set; links
    inside the set are untouched because a move keeps a subtree's own shape. Merged units
    are left out: they have left the tree."""
    inside = sorted(unit for unit in set(moved) if not _merged(view, unit))
    kept = set(inside)
    for chunk in _chunks(inside):
        await connection.execute(
            rm_closure.delete().where(
                rm_closure.c.descendant_id.in_(chunk), rm_closure.c.ancestor_id.not_in(chunk)
            )
        )
    rows = [
        {"ancestor_id": ancestor, "descendant_id": unit, "depth": depth}
        for unit in inside
        for depth, ancestor in enumerate(view.hierarchy.ancestors(unit))
        if depth and ancestor not in kept
    ]
    if rows:
        await connection.execute(rm_closure.insert(), rows)


def _merged(view: ReferenceView, unit_id: str) -> bool:
    """A merged unit has left the tree: it keeps only its own closure row."""
    return view.hierarchy.get(unit_id).merged_into is not None


def _chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


async def _move_totals(
    connection: AsyncConnection, unit_id: str, before: Sequence[str], after: Sequence[str]
) -> None:
    """Take the unit's totals (its subtree's) off the old ancestors and add them to the new."""
    for table, columns in AGGREGATES:
        rows = await connection.execute(sa.select(table).where(table.c.unit_id == unit_id))
        deltas = vectors(len(columns))
        keys = [c.name for c in table.primary_key.columns if c.name != "unit_id"]
        for row in rows.mappings():
            rest = tuple(row[key] for key in keys)
            for ancestors, sign in ((before, -1), (after, 1)):
                for ancestor in ancestors:
                    cell = deltas[(ancestor, *rest)]
                    for index, column in enumerate(columns):
                        cell[index] += sign * row[column]
        await add_counts(connection, table, columns, deltas)
