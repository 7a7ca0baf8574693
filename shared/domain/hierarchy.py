"""The union hierarchy (Tổng Liên đoàn → tỉnh/ngành → huyện/khối → công đoàn cơ sở).

An in-memory model built by applying unit facts. ``check`` refuses a fact that would break
the tree (unknown or closed units, duplicates, cycles) before it is stored; ``apply`` assumes
the fact was checked, so replaying the store is cheap. Lookups are dictionary walks in loops:
about 126,000 units and deep ``ancestors`` calls on every initiative must stay fast.

Merges keep history explainable: the absorbed unit stays in the tree as ``merged``, its
children move under the target, and ``counting_unit`` sends its initiatives to the target.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import NamedTuple

from shared.contracts.base import EventData
from shared.contracts.units import (
    UnitClosed,
    UnitLevel,
    UnitMembershipReported,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
)
from shared.domain.errors import DuplicateUnit, HierarchyCycle, UnitNotOpen, UnknownUnit


class UnitState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class MembershipReport(NamedTuple):
    """Members (đoàn viên) of the unit's whole subtree on a date."""

    as_of: dt.date
    members: int


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit as it stands now; closed and merged units stay to keep history explainable."""

    unit_id: str
    name: str
    level: UnitLevel
    parent_id: str | None
    cluster: str | None
    state: UnitState = UnitState.OPEN
    merged_into: str | None = None
    membership: tuple[MembershipReport, ...] = ()
    """Sorted by date; a second report for the same date replaces the first."""


def _own_figure(reports: tuple[MembershipReport, ...], on: dt.date) -> int | None:
    """The latest report on or before ``on``, else the earliest one (a unit reports late)."""
    if not reports:
        return None
    index = bisect.bisect_right(reports, on, key=lambda report: report.as_of)
    return reports[index - 1 if index else 0].members


class Hierarchy:
    """Units and their parent links; mutable, pure (no I/O)."""

    def __init__(self) -> None:
        self._units: dict[str, Unit] = {}
        # Children as insertion-ordered sets, so listings are stable and removal is O(1).
        self._children: dict[str, dict[str, None]] = {}

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._units

    def get(self, unit_id: str) -> Unit:
        try:
            return self._units[unit_id]
        except KeyError:
            raise UnknownUnit(f"unit {unit_id!r} is not registered") from None

    # -- checks ---------------------------------------------------------------------------

    def check(self, fact: EventData) -> None:
        """Raise a ``DomainError`` if applying ``fact`` would break the hierarchy."""
        if isinstance(fact, UnitRegistered):
            if fact.unit_id in self._units:
                raise DuplicateUnit(f"unit {fact.unit_id!r} is already registered")
            if fact.parent_id is not None:
                self.require_open(
                    fact.parent_id, f"register unit {fact.unit_id!r} under {fact.parent_id!r}"
                )
        elif isinstance(fact, UnitMembershipReported):
            self.require_open(fact.unit_id, f"report members of unit {fact.unit_id!r}")
        elif isinstance(fact, UnitMoved):
            doing = f"move unit {fact.unit_id!r} under {fact.new_parent_id!r}"
            self.require_open(fact.unit_id, doing)
            self.require_open(fact.new_parent_id, doing)
            self._refuse_cycle(fact.unit_id, fact.new_parent_id, doing)
        elif isinstance(fact, UnitMerged):
            doing = f"merge unit {fact.unit_id!r} into {fact.into_unit_id!r}"
            self.require_open(fact.unit_id, doing)
            self.require_open(fact.into_unit_id, doing)
            self._refuse_cycle(fact.unit_id, fact.into_unit_id, doing)
        elif isinstance(fact, UnitClosed):
            self.require_open(fact.unit_id, f"close unit {fact.unit_id!r}")

    def require_open(self, unit_id: str, doing: str) -> None:
        """Raise unless the unit exists and is open; ``doing`` completes "cannot ..."."""
        unit = self._units.get(unit_id)
        if unit is None:
            raise UnknownUnit(f"cannot {doing}: unit {unit_id!r} is not registered")
        if unit.state is UnitState.MERGED:
            raise UnitNotOpen(
                f"cannot {doing}: unit {unit_id!r} was merged into {unit.merged_into!r}"
            )
        if unit.state is UnitState.CLOSED:
            raise UnitNotOpen(f"cannot {doing}: unit {unit_id!r} is closed")

    def _refuse_cycle(self, unit_id: str, new_parent_id: str, doing: str) -> None:
        if unit_id in self.ancestors(new_parent_id):
            raise HierarchyCycle(f"cannot {doing}: {new_parent_id!r} lies below {unit_id!r}")

    # -- changes --------------------------------------------------------------------------

    def apply(self, fact: EventData) -> None:
        """Apply a checked unit fact; facts of other types are ignored."""
        if isinstance(fact, UnitRegistered):
            self._units[fact.unit_id] = Unit(
                unit_id=fact.unit_id,
                name=fact.name,
                level=fact.level,
                parent_id=fact.parent_id,
                cluster=fact.cluster,
            )
            self._children[fact.unit_id] = {}
            if fact.parent_id is not None:
                self._children[fact.parent_id][fact.unit_id] = None
        elif isinstance(fact, UnitMembershipReported):
            unit = self._units[fact.unit_id]
            reports = [report for report in unit.membership if report.as_of != fact.as_of]
            bisect.insort(reports, MembershipReport(fact.as_of, fact.members))
            self._units[fact.unit_id] = replace(unit, membership=tuple(reports))
        elif isinstance(fact, UnitMoved):
            self._set_parent(fact.unit_id, fact.new_parent_id)
        elif isinstance(fact, UnitMerged):
            unit = self._units[fact.unit_id]
            self._units[fact.unit_id] = replace(
                unit, state=UnitState.MERGED, merged_into=fact.into_unit_id
            )
            for child_id in list(self._children[fact.unit_id]):
                self._set_parent(child_id, fact.into_unit_id)
        elif isinstance(fact, UnitClosed):
            self._units[fact.unit_id] = replace(self._units[fact.unit_id], state=UnitState.CLOSED)

    def _set_parent(self, unit_id: str, parent_id: str) -> None:
        unit = self._units[unit_id]
        if unit.parent_id is not None:
            del self._children[unit.parent_id][unit_id]
        self._children[parent_id][unit_id] = None
        self._units[unit_id] = replace(unit, parent_id=parent_id)

    # -- queries --------------------------------------------------------------------------

    def ancestors(self, unit_id: str) -> tuple[str, ...]:
        """The path from the unit itself (first) up to the root (last)."""
        unit = self.get(unit_id)
        path = [unit.unit_id]
        while unit.parent_id is not None:
            unit = self._units[unit.parent_id]
            path.append(unit.unit_id)
        return tuple(path)

    def children(self, unit_id: str) -> tuple[str, ...]:
        return tuple(self._children[self.get(unit_id).unit_id])

    def descendants(self, unit_id: str) -> tuple[str, ...]:
        """Every unit below, depth first in registration order (the unit itself excluded)."""
        found: list[str] = []
        stack = list(reversed(self.children(unit_id)))
        while stack:
            child_id = stack.pop()
            found.append(child_id)
            stack.extend(reversed(self._children[child_id]))
        return tuple(found)

    def is_open(self, unit_id: str) -> bool:
        return self.get(unit_id).state is UnitState.OPEN

    def counting_unit(self, unit_id: str) -> str:
        """The unit an initiative filed under ``unit_id`` counts for: merges are followed."""
        unit = self.get(unit_id)
        while unit.merged_into is not None:
            unit = self._units[unit.merged_into]
        return unit.unit_id

    def members_on(self, unit_id: str, on: dt.date) -> int | None:
        """Members of the unit's subtree on ``on``: its own report wins; else, recursively,
        the sum over its open children (a child without any figure adds 0); None when no unit
        in the subtree ever reported.

        Closed and merged children are left out: their members left or now belong to the
        merge target, which is counted where it stands.
        """
        total: int | None = None
        stack = [self.get(unit_id).unit_id]
        while stack:
            current = stack.pop()
            figure = _own_figure(self._units[current].membership, on)
            if figure is not None:
                total = figure if total is None else total + figure
            else:
                stack.extend(
                    child_id
                    for child_id in self._children[current]
                    if self._units[child_id].state is UnitState.OPEN
                )
        return total
