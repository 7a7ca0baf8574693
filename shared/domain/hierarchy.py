"""The union hierarchy (Tổng Liên đoàn → tỉnh/ngành → huyện/khối → cơ sở), effective-dated.

Every unit fact takes effect at its own ``occurred_at``: a unit's parent, name, level and
state are timelines, so "where did this unit stand on 12 May 2022" has one answer whatever
was recorded since, and a reorganisation recorded years later changes nothing before its
date. A registration describes the unit from the start (it is the first thing known of it).

``check`` refuses a fact that would break the tree at its instant or at any later change
(unknown or closed units, duplicates, cycles, level order) before it is stored; ``apply``
assumes the fact was checked, so replaying the store is cheap. Lookups are dictionary walks
in loops: about 126,000 units and deep ``ancestors`` calls on every initiative must stay
fast.

A merged unit stays in the tree as history: from its merge on, its children stand under the
unit it was merged into and its initiatives count there (``counting_unit``).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any, NamedTuple

from shared.contracts.base import EARLIEST_INSTANT, LATEST_INSTANT, EventData
from shared.contracts.units import (
    UnitClosed,
    UnitLevel,
    UnitLevelChanged,
    UnitMembershipReported,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
)
from shared.domain.errors import (
    DuplicateUnit,
    HierarchyCycle,
    LevelOrder,
    UnitNotOpen,
    UnknownUnit,
)
from shared.domain.timeline import Timeline


class UnitState(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


class MembershipReport(NamedTuple):
    """Members (đoàn viên) of the unit's whole subtree on a date."""

    as_of: dt.date
    members: int


class Status(NamedTuple):
    state: UnitState
    merged_into: str | None = None


OPEN = Status(UnitState.OPEN)

_RANK = {
    UnitLevel.NATIONAL: 0,
    UnitLevel.PROVINCE: 1,
    UnitLevel.DISTRICT: 2,
    UnitLevel.GRASSROOTS: 3,
}


def may_stand_under(level: UnitLevel, parent: UnitLevel) -> bool:
    """The level order: a unit stands under a higher level; district-level unions (cấp trên
    trực tiếp cơ sở) may also stand under one another, as a khối cơ quan under its huyện."""
    both_district = level is parent is UnitLevel.DISTRICT
    return _RANK[parent] < _RANK[level] or both_district


@dataclass(frozen=True, slots=True)
class Unit:
    """A unit as it stood at one instant (closed and merged units stay, as history)."""

    unit_id: str
    name: str
    level: UnitLevel
    parent_id: str | None
    """The parent as recorded; while that parent is merged, the unit stands under the
    merge's target (``Hierarchy.parent``)."""
    cluster: str | None
    state: UnitState = UnitState.OPEN
    merged_into: str | None = None
    membership: tuple[MembershipReport, ...] = ()
    """Sorted by date; a second report for the same date replaces the first."""


class _History:
    """Everything recorded about one unit, each attribute on its own timeline."""

    __slots__ = ("cluster", "level", "membership", "name", "parent", "status", "unit_id")

    def __init__(self, fact: UnitRegistered) -> None:
        self.unit_id = fact.unit_id
        self.cluster = fact.cluster
        self.name = Timeline(EARLIEST_INSTANT, fact.name)
        self.level = Timeline(EARLIEST_INSTANT, fact.level)
        self.parent = Timeline(EARLIEST_INSTANT, fact.parent_id)
        self.status = Timeline(EARLIEST_INSTANT, OPEN)
        self.membership: tuple[MembershipReport, ...] = ()

    def at(self, when: dt.datetime) -> Unit:
        status = self.status.at(when)
        return Unit(
            unit_id=self.unit_id,
            name=self.name.at(when),
            level=self.level.at(when),
            parent_id=self.parent.at(when),
            cluster=self.cluster,
            state=status.state,
            merged_into=status.merged_into,
            membership=self.membership,
        )


def _own_figure(reports: tuple[MembershipReport, ...], on: dt.date) -> int | None:
    """The latest report on or before ``on``, else the earliest one (a unit reports late)."""
    if not reports:
        return None
    index = bisect.bisect_right(reports, on, key=lambda report: report.as_of)
    return reports[index - 1 if index else 0].members


class Segment(NamedTuple):
    """A stretch of time during which a unit's path to the root stays the same."""

    since: dt.datetime
    until: dt.datetime
    path: tuple[str, ...]
    """The unit itself first, the root last."""


class Hierarchy:
    """Units and their effective-dated links; mutable, pure (no I/O)."""

    def __init__(self) -> None:
        self._units: dict[str, _History] = {}
        self._changes: list[dt.datetime] = []
        """Every instant at which some unit's parent or state changes, sorted, each once."""
        self._ever_children: dict[str, dict[str, None]] = {}
        """Units that stood under each unit at some instant (merged-in units included)."""

    def __contains__(self, unit_id: object) -> bool:
        return unit_id in self._units

    def get(self, unit_id: str, at: dt.datetime = LATEST_INSTANT) -> Unit:
        """The unit as it stands at ``at`` (by default: with every change recorded)."""
        return self._history(unit_id).at(at)

    def _history(self, unit_id: str) -> _History:
        try:
            return self._units[unit_id]
        except KeyError:
            raise UnknownUnit(f"unit {unit_id!r} is not registered") from None

    # -- checks ---------------------------------------------------------------------------

    def check(self, fact: EventData, at: dt.datetime) -> None:
        """Raise a ``DomainError`` if applying ``fact`` at ``at`` would break the hierarchy.
        A fact without a check in :data:`UNIT_FACT_CHECKS` is an error, never accepted
        unchecked (a test holds the table to the event registry)."""
        try:
            checker = UNIT_FACT_CHECKS[type(fact)]
        except KeyError:
            raise TypeError(f"the hierarchy has no check for {fact.type} facts") from None
        checker(self, fact, at)

    def _check_registered(self, fact: UnitRegistered, at: dt.datetime) -> None:
        if fact.unit_id in self._units:
            raise DuplicateUnit(f"unit {fact.unit_id!r} is already registered")
        if fact.parent_id is not None:
            doing = f"register unit {fact.unit_id!r} under {fact.parent_id!r}"
            self.require_open(fact.parent_id, doing, at)
            self._require_order(fact.level, self.get(fact.parent_id, at).level, doing)

    def _check_membership(self, fact: UnitMembershipReported, at: dt.datetime) -> None:
        self.require_open(fact.unit_id, f"report members of unit {fact.unit_id!r}", at)

    def _check_moved(self, fact: UnitMoved, at: dt.datetime) -> None:
        doing = f"move unit {fact.unit_id!r} under {fact.new_parent_id!r}"
        self.require_open(fact.unit_id, doing, at)
        self.require_open(fact.new_parent_id, doing, at)
        self._trial(fact, at, doing)
        level = self.get(fact.unit_id, at).level
        self._require_order(level, self.get(fact.new_parent_id, at).level, doing)

    def _check_merged(self, fact: UnitMerged, at: dt.datetime) -> None:
        doing = f"merge unit {fact.unit_id!r} into {fact.into_unit_id!r}"
        self.require_open(fact.unit_id, doing, at)
        self._require_never_ended(fact.unit_id, doing)
        self.require_open(fact.into_unit_id, doing, at)
        self._trial(fact, at, doing)
        into = self.get(fact.into_unit_id, at).level
        for child in self.children(fact.unit_id, at):
            self._require_order(self.get(child, at).level, into, doing)

    def _check_closed(self, fact: UnitClosed, at: dt.datetime) -> None:
        doing = f"close unit {fact.unit_id!r}"
        self.require_open(fact.unit_id, doing, at)
        self._require_never_ended(fact.unit_id, doing)

    def _check_renamed(self, fact: UnitRenamed, at: dt.datetime) -> None:
        self.require_open(fact.unit_id, f"rename unit {fact.unit_id!r}", at)

    def _check_level(self, fact: UnitLevelChanged, at: dt.datetime) -> None:
        doing = f"make unit {fact.unit_id!r} a {fact.level} unit"
        self.require_open(fact.unit_id, doing, at)
        parent = self.parent(fact.unit_id, at)
        if parent is not None:
            self._require_order(fact.level, self.get(parent, at).level, doing)
        for child in self.children(fact.unit_id, at):
            self._require_order(self.get(child, at).level, fact.level, doing)

    def require_open(self, unit_id: str, doing: str, at: dt.datetime = LATEST_INSTANT) -> None:
        """Raise unless the unit exists and is open at ``at``; ``doing`` completes "cannot ..."."""
        history = self._units.get(unit_id)
        if history is None:
            raise UnknownUnit(f"cannot {doing}: unit {unit_id!r} is not registered")
        status = history.status.at(at)
        if status.state is UnitState.MERGED:
            raise UnitNotOpen(
                f"cannot {doing}: unit {unit_id!r} was merged into {status.merged_into!r}"
            )
        if status.state is UnitState.CLOSED:
            raise UnitNotOpen(f"cannot {doing}: unit {unit_id!r} is closed")

    def _require_never_ended(self, unit_id: str, doing: str) -> None:
        """A unit is closed or merged once: a fact dated before that end cannot end it again."""
        ended = self.open_until(unit_id)
        if ended < LATEST_INSTANT:
            status = self._units[unit_id].status.at(ended)
            how = f"merged into {status.merged_into!r}" if status.merged_into else "closed"
            raise UnitNotOpen(f"cannot {doing}: unit {unit_id!r} was {how} at {ended.isoformat()}")

    @staticmethod
    def _require_order(level: UnitLevel, parent: UnitLevel, doing: str) -> None:
        if not may_stand_under(level, parent):
            raise LevelOrder(f"cannot {doing}: a {level} unit cannot stand under a {parent} unit")

    def _trial(self, fact: UnitMoved | UnitMerged, at: dt.datetime, doing: str) -> None:
        """Refuse a link that closes a loop at its instant or at any later change."""
        history = self._units[fact.unit_id]
        if isinstance(fact, UnitMoved):
            above = fact.new_parent_id
            undo = partial(history.parent.undo, history.parent.set(at, above))
        else:
            above = fact.into_unit_id
            merged = Status(UnitState.MERGED, above)
            undo = partial(history.status.undo, history.status.set(at, merged))
        try:
            later = self._changes[bisect.bisect_left(self._changes, at) :]
            for when in (at, *later):
                if self._loops(fact.unit_id, when):
                    since = "" if when == at else f" from {when.isoformat()}"
                    raise HierarchyCycle(
                        f"cannot {doing}: {above!r} lies below {fact.unit_id!r}{since}"
                    )
        finally:
            undo()

    def _loops(self, unit_id: str, at: dt.datetime) -> bool:
        """Whether the route up from ``unit_id`` at ``at`` (merge targets, else parents)
        comes back to a unit it passed."""
        seen: set[str] = set()
        current: str | None = unit_id
        while current is not None:
            if current in seen:
                return True
            seen.add(current)
            history = self._units[current]
            status = history.status.at(at)
            current = status.merged_into if status.merged_into else history.parent.at(at)
        return False

    # -- changes --------------------------------------------------------------------------

    def apply(self, fact: EventData, at: dt.datetime) -> None:
        """Apply a checked unit fact effective at ``at``. A fact of another type is an error,
        never ignored: :data:`UNIT_FACT_APPLIERS` names every unit fact (a test holds it to
        the event registry)."""
        try:
            applier = UNIT_FACT_APPLIERS[type(fact)]
        except KeyError:
            raise TypeError(f"the hierarchy has no rule for {fact.type} facts") from None
        if isinstance(fact, UnitRegistered) or getattr(fact, "unit_id", None) in self._units:
            applier(self, fact, at)

    def _register(self, fact: UnitRegistered, at: dt.datetime) -> None:
        self._units[fact.unit_id] = _History(fact)
        self._ever_children[fact.unit_id] = {}
        if fact.parent_id is not None:
            self._ever_children[fact.parent_id][fact.unit_id] = None

    def _report_members(self, fact: UnitMembershipReported, at: dt.datetime) -> None:
        history = self._units[fact.unit_id]
        reports = [r for r in history.membership if r.as_of != fact.as_of]
        bisect.insort(reports, MembershipReport(fact.as_of, fact.members))
        history.membership = tuple(reports)

    def _move(self, fact: UnitMoved, at: dt.datetime) -> None:
        history = self._units[fact.unit_id]
        history.parent.set(at, fact.new_parent_id)
        self._ever_children[fact.new_parent_id][fact.unit_id] = None
        self._note_change(at)

    def _merge(self, fact: UnitMerged, at: dt.datetime) -> None:
        history = self._units[fact.unit_id]
        history.status.set(at, Status(UnitState.MERGED, fact.into_unit_id))
        self._ever_children[fact.into_unit_id][fact.unit_id] = None
        self._note_change(at)

    def _close(self, fact: UnitClosed, at: dt.datetime) -> None:
        history = self._units[fact.unit_id]
        history.status.set(at, Status(UnitState.CLOSED))

    def _rename(self, fact: UnitRenamed, at: dt.datetime) -> None:
        history = self._units[fact.unit_id]
        history.name.set(at, fact.name)

    def _change_level(self, fact: UnitLevelChanged, at: dt.datetime) -> None:
        history = self._units[fact.unit_id]
        history.level.set(at, fact.level)

    def _note_change(self, at: dt.datetime) -> None:
        """Keep each instant once: a reform moves thousands of units at the same instant,
        and every later check walks the instants after its own."""
        index = bisect.bisect_left(self._changes, at)
        if index == len(self._changes) or self._changes[index] != at:
            self._changes.insert(index, at)

    # -- queries --------------------------------------------------------------------------

    def changes(self) -> list[dt.datetime]:
        """The instants at which any unit's place in the tree changes, sorted."""
        return self._changes

    def parent(self, unit_id: str, at: dt.datetime = LATEST_INSTANT) -> str | None:
        """The unit's parent at ``at``, merges followed (a merged parent's target stands in)."""
        parent = self._history(unit_id).parent.at(at)
        return None if parent is None else self.counting_unit(parent, at)

    def counting_unit(self, unit_id: str, at: dt.datetime = LATEST_INSTANT) -> str:
        """The unit an initiative filed under ``unit_id`` at ``at`` counts for: merges in
        effect then are followed."""
        status = self._history(unit_id).status.at(at)
        while status.merged_into is not None:
            unit_id = status.merged_into
            status = self._units[unit_id].status.at(at)
        return unit_id

    def ancestors(self, unit_id: str, at: dt.datetime = LATEST_INSTANT) -> tuple[str, ...]:
        """The path from the unit itself (first) up to the root (last) at ``at``."""
        path = [unit_id]
        parent = self.parent(unit_id, at)
        while parent is not None:
            path.append(parent)
            parent = self.parent(parent, at)
        return tuple(path)

    def segments(self, unit_id: str) -> list[Segment]:
        """The unit's paths to the root over time, until it is merged (its initiatives then
        count elsewhere); consecutive stretches with the same path are one segment."""
        found: list[Segment] = []
        since = EARLIEST_INSTANT
        while since < LATEST_INSTANT:
            path, until = self._path_until(unit_id, since)
            if path is None:
                break
            if found and found[-1].path == path:
                found[-1] = found[-1]._replace(until=until)
            else:
                found.append(Segment(since, until, path))
            since = until
        return found

    def _path_until(
        self, unit_id: str, since: dt.datetime
    ) -> tuple[tuple[str, ...] | None, dt.datetime]:
        """The path at ``since`` (None while the unit is merged) and when it may next change."""
        until = LATEST_INSTANT

        def note(timeline: Timeline[Any]) -> None:
            nonlocal until
            change = timeline.next_change(since)
            if change is not None and change < until:
                until = change

        history = self._units[unit_id]
        note(history.status)
        if history.status.at(since).state is UnitState.MERGED:
            return None, until
        path = [unit_id]
        while True:
            note(history.parent)
            parent = history.parent.at(since)
            if parent is None:
                return tuple(path), until
            history = self._units[parent]
            note(history.status)
            while (status := history.status.at(since)).merged_into is not None:
                history = self._units[status.merged_into]
                note(history.status)
            path.append(history.unit_id)

    def children(self, unit_id: str, at: dt.datetime = LATEST_INSTANT) -> tuple[str, ...]:
        """The units standing directly under ``unit_id`` at ``at``, in registration order."""
        self._history(unit_id)
        return tuple(
            child for child in self._candidates(unit_id) if self.parent(child, at) == unit_id
        )

    def _candidates(self, unit_id: str) -> Iterator[str]:
        """Units that may stand directly under ``unit_id`` at some instant: its own children
        and, through merges, the children of units merged into it."""
        stack = [unit_id]
        seen = {unit_id}
        while stack:
            for child in self._ever_children[stack.pop()]:
                if child in seen:
                    continue
                seen.add(child)
                if any(status.merged_into for status in self._units[child].status.values()):
                    stack.append(child)
                yield child

    def descendants(self, unit_id: str, at: dt.datetime = LATEST_INSTANT) -> tuple[str, ...]:
        """Every unit below at ``at``, depth first in registration order (itself excluded)."""
        found: list[str] = []
        stack = list(reversed(self.children(unit_id, at)))
        while stack:
            child_id = stack.pop()
            found.append(child_id)
            stack.extend(reversed(self.children(child_id, at)))
        return tuple(found)

    def ever_below(self, unit_id: str) -> set[str]:
        """Every unit that stood below ``unit_id`` (or counted there through a merge) at some
        instant: the units whose figures a change of ``unit_id`` may re-attribute."""
        found: set[str] = set()
        stack = [unit_id]
        while stack:
            for child in self._ever_children[stack.pop()]:
                if child not in found and child != unit_id:
                    found.add(child)
                    stack.append(child)
        return found

    def open_until(self, unit_id: str) -> dt.datetime:
        """The instant the unit was first closed or merged (the end of time if never)."""
        history = self._history(unit_id)
        since = EARLIEST_INSTANT
        while (change := history.status.next_change(since)) is not None:
            if history.status.at(change).state is not UnitState.OPEN:
                return change
            since = change
        return LATEST_INSTANT

    def is_open(self, unit_id: str, at: dt.datetime = LATEST_INSTANT) -> bool:
        return self._history(unit_id).status.at(at).state is UnitState.OPEN

    def members_on(
        self,
        unit_id: str,
        on: dt.date,
        at: dt.datetime = LATEST_INSTANT,
        known: MemberCounts | None = None,
    ) -> int | None:
        """Members of the unit's subtree on ``on``, with the tree as it stood at ``at``: its
        own report wins; else, recursively, the sum over its open children (a child without
        any figure adds 0); None when no unit in the subtree ever reported.

        Closed and merged children are left out: their members left or now belong to the
        merge target, which is counted where it stands. Each subtree's figure is noted in
        ``known`` (and taken from it), so resolving every unit's targets with one memo
        counts each subtree once.
        """
        known = {} if known is None else known
        root = self._history(unit_id).unit_id
        pending: list[tuple[str, tuple[str, ...] | None]] = [(root, None)]
        while pending:
            current, below = pending.pop()
            key = (current, on, at)
            if below is not None:
                figures = [n for child in below if (n := known[(child, on, at)]) is not None]
                known[key] = sum(figures) if figures else None
            elif key not in known:
                figure = _own_figure(self._units[current].membership, on)
                if figure is not None:
                    known[key] = figure
                    continue
                below = tuple(
                    child for child in self.children(current, at) if self.is_open(child, at)
                )
                pending.append((current, below))
                pending.extend((child, None) for child in below)
        return known[(root, on, at)]


MemberCounts = dict[tuple[str, dt.date, dt.datetime], int | None]
"""Subtree memberships by (unit, day, tree as of): see :meth:`Hierarchy.members_on`."""


UNIT_FACT_APPLIERS: dict[type[EventData], Callable[[Hierarchy, Any, dt.datetime], None]] = {
    UnitRegistered: Hierarchy._register,
    UnitMembershipReported: Hierarchy._report_members,
    UnitMoved: Hierarchy._move,
    UnitMerged: Hierarchy._merge,
    UnitClosed: Hierarchy._close,
    UnitRenamed: Hierarchy._rename,
    UnitLevelChanged: Hierarchy._change_level,
}
"""How the hierarchy applies each unit fact; a fact about a unit it does not hold (never the
case for checked facts) changes nothing."""

UNIT_FACT_CHECKS: dict[type[EventData], Callable[[Hierarchy, Any, dt.datetime], None]] = {
    UnitRegistered: Hierarchy._check_registered,
    UnitMembershipReported: Hierarchy._check_membership,
    UnitMoved: Hierarchy._check_moved,
    UnitMerged: Hierarchy._check_merged,
    UnitClosed: Hierarchy._check_closed,
    UnitRenamed: Hierarchy._check_renamed,
    UnitLevelChanged: Hierarchy._check_level,
}
"""What each unit fact must not break, checked before it is accepted."""
