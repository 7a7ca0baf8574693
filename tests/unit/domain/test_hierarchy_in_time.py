"""The hierarchy through time: each fact takes effect at its own instant, whatever the order
in which facts were recorded; loops and the level order are checked at every later change."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.contracts.base import EARLIEST_INSTANT, LATEST_INSTANT, EventData
from shared.contracts.units import (
    UnitClosed,
    UnitLevel,
    UnitLevelChanged,
    UnitMerged,
    UnitMoved,
    UnitRenamed,
)
from shared.domain.errors import DomainError
from shared.domain.hierarchy import Hierarchy, Segment, UnitState, may_stand_under
from shared.domain.plans import Plans, effective_plan

from .factories import build, members, phase, plan, unit

UTC = dt.UTC
REFORM = dt.datetime(2025, 6, 30, 17, 0, tzinfo=UTC)  # 1 July 2025, 00:00 in Hà Nội
BEFORE, AFTER = REFORM - dt.timedelta(seconds=1), REFORM


def provinces() -> Hierarchy:
    """vn → {bk → {bt → {g1, g2}}, tn, qn → {bc → {cq → {c1}}}}, registered in 2022."""
    return build(
        unit("vn", level=UnitLevel.NATIONAL),
        unit("bk", "vn", UnitLevel.PROVINCE),
        unit("bt", "bk", UnitLevel.DISTRICT),
        unit("g1", "bt"),
        unit("g2", "bt"),
        unit("tn", "vn", UnitLevel.PROVINCE),
        unit("qn", "vn", UnitLevel.PROVINCE),
        unit("bc", "qn", UnitLevel.DISTRICT),
        unit("cq", "bc", UnitLevel.DISTRICT),
        unit("c1", "cq"),
    )


def at(hierarchy: Hierarchy, when: dt.datetime, *facts: EventData) -> Hierarchy:
    return build(*facts, hierarchy=hierarchy, at=when)


def refusal(hierarchy: Hierarchy, fact: EventData, when: dt.datetime) -> DomainError:
    with pytest.raises(DomainError) as refused:
        hierarchy.check(fact, when)
    return refused.value


def test_a_merge_changes_nothing_before_its_date() -> None:
    hierarchy = at(provinces(), REFORM, UnitMerged(unit_id="bk", into_unit_id="tn"))

    assert hierarchy.ancestors("g1", BEFORE) == ("g1", "bt", "bk", "vn")
    assert hierarchy.ancestors("g1", AFTER) == ("g1", "bt", "tn", "vn")
    assert hierarchy.counting_unit("bk", BEFORE) == "bk"
    assert hierarchy.counting_unit("bk", AFTER) == "tn"
    assert hierarchy.get("bk", BEFORE).state is UnitState.OPEN
    assert hierarchy.get("bk").state is UnitState.MERGED
    assert hierarchy.children("tn", BEFORE) == ()
    assert hierarchy.children("tn") == ("bt",)


def test_a_fact_recorded_late_lands_at_its_own_date() -> None:
    """Recorded in this order: the 2025 move first, then a 2023 move of the same unit."""
    early = dt.datetime(2023, 1, 1, tzinfo=UTC)
    hierarchy = at(provinces(), REFORM, UnitMoved(unit_id="g1", new_parent_id="bc"))
    at(hierarchy, early, UnitMoved(unit_id="g1", new_parent_id="cq"))

    assert hierarchy.ancestors("g1", early - dt.timedelta(days=1))[1] == "bt"
    assert hierarchy.ancestors("g1", early)[1] == "cq"
    assert hierarchy.ancestors("g1", AFTER)[1] == "bc"
    assert [s.path[1] for s in hierarchy.segments("g1")] == ["bt", "cq", "bc"]


def test_segments_are_the_stretches_of_one_path_until_the_unit_is_merged() -> None:
    hierarchy = at(
        provinces(),
        REFORM,
        UnitMoved(unit_id="bt", new_parent_id="qn"),
        UnitMerged(unit_id="g2", into_unit_id="g1"),
    )
    assert hierarchy.segments("g1") == [
        Segment(EARLIEST_INSTANT, REFORM, ("g1", "bt", "bk", "vn")),
        Segment(REFORM, LATEST_INSTANT, ("g1", "bt", "qn", "vn")),
    ]
    assert hierarchy.segments("g2") == [
        Segment(EARLIEST_INSTANT, REFORM, ("g2", "bt", "bk", "vn")),
    ]
    assert hierarchy.ever_below("bk") == {"bt", "g1", "g2"}
    assert hierarchy.ever_below("qn") >= {"bt", "g1", "g2", "bc", "cq", "c1"}


def test_renames_and_level_changes_take_effect_from_their_date() -> None:
    hierarchy = at(
        provinces(),
        REFORM,
        UnitRenamed(unit_id="tn", name="LĐLĐ tỉnh Thái Nguyên (mới)"),
        UnitLevelChanged(unit_id="g1", level=UnitLevel.DISTRICT),
    )
    assert hierarchy.get("tn", BEFORE).name == "Công đoàn tn"
    assert hierarchy.get("tn").name == "LĐLĐ tỉnh Thái Nguyên (mới)"
    assert hierarchy.get("g1", BEFORE).level is UnitLevel.GRASSROOTS
    assert hierarchy.get("g1").level is UnitLevel.DISTRICT


@pytest.mark.parametrize(
    ("fact", "reason"),
    [
        (
            UnitMoved(unit_id="bk", new_parent_id="g1"),
            "cannot move unit 'bk' under 'g1': 'g1' lies below 'bk'",
        ),
        (
            UnitMoved(unit_id="bt", new_parent_id="c1"),
            "cannot move unit 'bt' under 'c1': a district unit cannot stand under a "
            "grassroots unit",
        ),
        (
            UnitMoved(unit_id="qn", new_parent_id="bt"),
            "cannot move unit 'qn' under 'bt': a province unit cannot stand under a district unit",
        ),
        (
            unit("x", "g1"),
            "cannot register unit 'x' under 'g1': a grassroots unit cannot stand under a "
            "grassroots unit",
        ),
        (
            UnitLevelChanged(unit_id="bt", level=UnitLevel.GRASSROOTS),
            "cannot make unit 'bt' a grassroots unit: a grassroots unit cannot stand under a "
            "grassroots unit",
        ),
        (
            UnitMerged(unit_id="bt", into_unit_id="c1"),
            "cannot merge unit 'bt' into 'c1': a grassroots unit cannot stand under a "
            "grassroots unit",
        ),
    ],
)
def test_loops_and_the_level_order_are_refused(fact: EventData, reason: str) -> None:
    error = refusal(provinces(), fact, REFORM)
    assert error.reason == reason
    assert error.code in ("hierarchy_cycle", "level_order")


def test_district_level_unions_may_nest_and_grassroots_may_stand_under_a_province() -> None:
    assert may_stand_under(UnitLevel.DISTRICT, UnitLevel.DISTRICT)
    assert may_stand_under(UnitLevel.GRASSROOTS, UnitLevel.PROVINCE)
    assert not may_stand_under(UnitLevel.PROVINCE, UnitLevel.PROVINCE)
    assert not may_stand_under(UnitLevel.NATIONAL, UnitLevel.PROVINCE)


def test_a_late_move_may_not_close_a_loop_with_a_later_one() -> None:
    """bt moves under cq in 2025; cq moving under bt in 2024 is no loop in 2024, but would
    be one from 2025 on."""
    hierarchy = at(provinces(), REFORM, UnitMoved(unit_id="bt", new_parent_id="cq"))
    earlier = dt.datetime(2024, 1, 1, tzinfo=UTC)
    hierarchy.check(UnitMoved(unit_id="cq", new_parent_id="bk"), earlier)
    loop = refusal(hierarchy, UnitMoved(unit_id="cq", new_parent_id="bt"), earlier)
    assert (loop.code, loop.reason) == (
        "hierarchy_cycle",
        "cannot move unit 'cq' under 'bt': 'bt' lies below 'cq' from 2025-06-30T17:00:00+00:00",
    )


def test_a_unit_is_open_until_its_date_and_ends_only_once() -> None:
    hierarchy = at(provinces(), REFORM, UnitClosed(unit_id="cq"))
    assert hierarchy.is_open("cq", BEFORE)
    assert not hierarchy.is_open("cq", AFTER)
    assert hierarchy.open_until("cq") == REFORM
    hierarchy.check(members("cq", 10, dt.date(2022, 1, 1)), BEFORE)
    assert refusal(hierarchy, members("cq", 10, dt.date(2022, 1, 1)), AFTER).code == (
        "unit_not_open"
    )
    again = refusal(hierarchy, UnitMerged(unit_id="cq", into_unit_id="bc"), BEFORE)
    assert (
        again.reason
        == "cannot merge unit 'cq' into 'bc': unit 'cq' was closed at 2025-06-30T17:00:00+00:00"
    )


def test_membership_sums_use_the_subtree_as_it_stood() -> None:
    hierarchy = build(members("g1", 40, dt.date(2022, 1, 1)), hierarchy=provinces())
    at(hierarchy, REFORM, UnitMoved(unit_id="g1", new_parent_id="qn"))
    assert hierarchy.members_on("bk", dt.date(2022, 1, 1), BEFORE) == 40
    assert hierarchy.members_on("bk", dt.date(2022, 1, 1), AFTER) is None
    assert hierarchy.members_on("qn", dt.date(2022, 1, 1), AFTER) == 40


def test_a_plan_replaced_later_governs_until_then_and_the_earliest_holds_from_the_start() -> None:
    hierarchy = provinces()
    plans = Plans()
    first = plan("bk", [phase("1", "2022-01-01", "2022-05-31")], [])
    second = plan("bk", [phase("A", "2022-01-01", "2022-12-31")], [])
    recorded = dt.datetime(2022, 3, 1, tzinfo=UTC)
    assert plans.set(first, recorded) == EARLIEST_INSTANT
    assert plans.set(second, REFORM) == REFORM

    assert (
        effective_plan(hierarchy, plans, "1m", "g1", dt.datetime(2022, 1, 2, tzinfo=UTC)) == first
    )
    assert effective_plan(hierarchy, plans, "1m", "g1", AFTER) == second
    assert list(plans.changes("1m", "bk")) == [REFORM]


def test_a_reform_of_many_moves_at_one_instant_is_one_change() -> None:
    """Later checks walk the change instants after their own: a reform's thousands of moves
    at one instant must not make each check walk thousands of copies of it."""
    hierarchy = provinces()
    for n in range(200):
        at(hierarchy, BEFORE, unit(f"cs{n}", "bt"))
    at(hierarchy, REFORM, *(UnitMoved(unit_id=f"cs{n}", new_parent_id="qn") for n in range(200)))
    assert hierarchy.changes() == [REFORM]
    assert hierarchy.children("bt") == ("g1", "g2")
