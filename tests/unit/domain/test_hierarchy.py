"""The union hierarchy: refused changes, moves, merges, closures and membership figures."""

from __future__ import annotations

import datetime as dt

import pytest

from shared.contracts.base import EventData
from shared.contracts.units import UnitClosed, UnitLevel, UnitMerged, UnitMoved
from shared.domain.errors import DomainError
from shared.domain.hierarchy import Hierarchy, MembershipReport, Unit, UnitState

from .factories import SEED_TIME, build, members, registered, tree, unit

D = dt.date


def national() -> Hierarchy:
    """tw → {bk → {cd → {cs1, cs2}, bb}, qn}."""
    return tree(
        ("tw", None),
        ("bk", "tw"),
        ("cd", "bk"),
        ("cs1", "cd"),
        ("cs2", "cd"),
        ("bb", "bk"),
        ("qn", "tw"),
    )


def refusal(hierarchy: Hierarchy, fact: EventData) -> DomainError:
    with pytest.raises(DomainError) as refused:
        hierarchy.check(fact, SEED_TIME)
    return refused.value


def test_registration_records_the_unit_and_its_place() -> None:
    hierarchy = build(
        unit("tw", level=UnitLevel.NATIONAL),
        unit("bk", "tw", level=UnitLevel.PROVINCE).model_copy(update={"cluster": "mien-nui"}),
    )
    assert hierarchy.get("bk") == Unit(
        unit_id="bk",
        name="Công đoàn bk",
        level=UnitLevel.PROVINCE,
        parent_id="tw",
        cluster="mien-nui",
    )
    assert hierarchy.children("tw") == ("bk",)
    assert hierarchy.is_open("bk")
    assert "bk" in hierarchy
    assert "xx" not in hierarchy


@pytest.mark.parametrize(
    ("fact", "code", "reason"),
    [
        (unit("bk", "tw"), "duplicate_unit", "unit 'bk' is already registered"),
        (
            unit("new", "nowhere"),
            "unknown_unit",
            "cannot register unit 'new' under 'nowhere': unit 'nowhere' is not registered",
        ),
        (
            UnitMoved(unit_id="bk", new_parent_id="cs1"),
            "hierarchy_cycle",
            "cannot move unit 'bk' under 'cs1': 'cs1' lies below 'bk'",
        ),
        (
            UnitMoved(unit_id="cd", new_parent_id="cd2"),
            "unknown_unit",
            "cannot move unit 'cd' under 'cd2': unit 'cd2' is not registered",
        ),
        (
            UnitMerged(unit_id="cd", into_unit_id="cs2"),
            "hierarchy_cycle",
            "cannot merge unit 'cd' into 'cs2': 'cs2' lies below 'cd'",
        ),
        (
            UnitMerged(unit_id="cd", into_unit_id="nowhere"),
            "unknown_unit",
            "cannot merge unit 'cd' into 'nowhere': unit 'nowhere' is not registered",
        ),
        (
            UnitClosed(unit_id="nowhere"),
            "unknown_unit",
            "cannot close unit 'nowhere': unit 'nowhere' is not registered",
        ),
        (
            members("nowhere", 5, D(2022, 1, 1)),
            "unknown_unit",
            "cannot report members of unit 'nowhere': unit 'nowhere' is not registered",
        ),
    ],
)
def test_refused_changes(fact: EventData, code: str, reason: str) -> None:
    error = refusal(national(), fact)
    assert (error.code, error.reason) == (code, reason)


@pytest.mark.parametrize(
    ("fact", "reason"),
    [
        (unit("new", "bb"), "cannot register unit 'new' under 'bb': unit 'bb' is closed"),
        (
            UnitMoved(unit_id="bb", new_parent_id="tw"),
            "cannot move unit 'bb' under 'tw': unit 'bb' is closed",
        ),
        (
            UnitMoved(unit_id="cs1", new_parent_id="bb"),
            "cannot move unit 'cs1' under 'bb': unit 'bb' is closed",
        ),
        (
            UnitMerged(unit_id="cs1", into_unit_id="bb"),
            "cannot merge unit 'cs1' into 'bb': unit 'bb' is closed",
        ),
        (
            UnitMerged(unit_id="bb", into_unit_id="cd"),
            "cannot merge unit 'bb' into 'cd': unit 'bb' is closed",
        ),
        (UnitClosed(unit_id="bb"), "cannot close unit 'bb': unit 'bb' is closed"),
        (
            members("bb", 10, D(2022, 1, 1)),
            "cannot report members of unit 'bb': unit 'bb' is closed",
        ),
        (
            UnitMoved(unit_id="qn", new_parent_id="bk-old"),
            "cannot move unit 'qn' under 'bk-old': unit 'bk-old' was merged into 'bk'",
        ),
        (
            UnitClosed(unit_id="bk-old"),
            "cannot close unit 'bk-old': unit 'bk-old' was merged into 'bk'",
        ),
    ],
)
def test_closed_and_merged_units_are_frozen(fact: EventData, reason: str) -> None:
    hierarchy = build(
        UnitClosed(unit_id="bb"),
        unit("bk-old", "tw"),
        UnitMerged(unit_id="bk-old", into_unit_id="bk"),
        hierarchy=national(),
    )
    error = refusal(hierarchy, fact)
    assert (error.code, error.reason) == ("unit_not_open", reason)


def test_a_fact_of_another_kind_is_an_error_never_silently_ignored() -> None:
    hierarchy = national()
    with pytest.raises(TypeError, match=r"the hierarchy has no check for initiative\.registered"):
        hierarchy.check(registered(), SEED_TIME)

    with pytest.raises(TypeError, match=r"the hierarchy has no rule for initiative\.registered"):
        hierarchy.apply(registered(), SEED_TIME)
    assert hierarchy.descendants("tw") == national().descendants("tw")


def test_queries_on_an_unknown_unit_say_so() -> None:
    with pytest.raises(DomainError) as refused:
        national().ancestors("nowhere")
    assert (refused.value.code, refused.value.reason) == (
        "unknown_unit",
        "unit 'nowhere' is not registered",
    )


def test_ancestors_children_and_descendants() -> None:
    hierarchy = national()
    assert hierarchy.ancestors("cs1") == ("cs1", "cd", "bk", "tw")
    assert hierarchy.ancestors("tw") == ("tw",)
    assert hierarchy.children("cd") == ("cs1", "cs2")
    assert hierarchy.descendants("bk") == ("cd", "cs1", "cs2", "bb")
    assert hierarchy.descendants("cs1") == ()


def test_a_move_changes_ancestors_of_the_whole_subtree() -> None:
    hierarchy = build(UnitMoved(unit_id="cd", new_parent_id="qn"), hierarchy=national())
    assert hierarchy.ancestors("cs2") == ("cs2", "cd", "qn", "tw")
    assert hierarchy.children("bk") == ("bb",)
    assert hierarchy.children("qn") == ("cd",)
    assert hierarchy.get("cd").parent_id == "qn"


def test_district_level_abolished_grassroots_move_up_to_the_province() -> None:
    hierarchy = build(
        UnitMoved(unit_id="cs1", new_parent_id="bk"),
        UnitMoved(unit_id="cs2", new_parent_id="bk"),
        UnitClosed(unit_id="cd", reason="bỏ cấp huyện"),
        hierarchy=national(),
    )
    assert hierarchy.ancestors("cs1") == ("cs1", "bk", "tw")
    assert hierarchy.get("cd").state is UnitState.CLOSED
    assert not hierarchy.is_open("cd")
    assert hierarchy.children("cd") == ()


def test_a_merge_rehomes_children_and_redirects_counting() -> None:
    hierarchy = build(UnitMerged(unit_id="cd", into_unit_id="bb"), hierarchy=national())
    merged = hierarchy.get("cd")
    assert (merged.state, merged.merged_into, merged.parent_id) == (UnitState.MERGED, "bb", "bk")
    assert hierarchy.children("bb") == ("cs1", "cs2")
    assert hierarchy.children("cd") == ()
    assert hierarchy.ancestors("cs1") == ("cs1", "bb", "bk", "tw")
    assert hierarchy.counting_unit("cd") == "bb"
    assert hierarchy.counting_unit("cs1") == "cs1"


def test_counting_follows_a_chain_of_merges() -> None:
    hierarchy = build(
        UnitMerged(unit_id="cs1", into_unit_id="cs2"),
        UnitMerged(unit_id="cs2", into_unit_id="bb"),
        hierarchy=national(),
    )
    assert hierarchy.counting_unit("cs1") == "bb"


def test_provinces_merge_as_in_2025() -> None:
    hierarchy = build(UnitMerged(unit_id="bk", into_unit_id="qn"), hierarchy=national())
    assert hierarchy.children("qn") == ("cd", "bb")
    assert hierarchy.ancestors("cs1") == ("cs1", "cd", "qn", "tw")
    assert hierarchy.descendants("bk") == ()


def test_membership_reports_are_kept_sorted_and_a_same_day_report_replaces() -> None:
    hierarchy = build(
        members("bk", 13_600, D(2023, 1, 1)),
        members("bk", 13_000, D(2021, 12, 31)),
        members("bk", 13_500, D(2023, 1, 1)),
        hierarchy=national(),
    )
    assert hierarchy.get("bk").membership == (
        MembershipReport(D(2021, 12, 31), 13_000),
        MembershipReport(D(2023, 1, 1), 13_500),
    )


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (D(2021, 6, 1), 100),  # before any report: the earliest one
        (D(2022, 1, 1), 100),  # on the day of a report
        (D(2022, 5, 31), 100),  # latest on or before
        (D(2022, 6, 1), 120),
        (D(2030, 1, 1), 120),
    ],
)
def test_own_report_latest_on_or_before_else_earliest(on: dt.date, expected: int) -> None:
    hierarchy = build(
        members("cd", 120, D(2022, 6, 1)), members("cd", 100, D(2022, 1, 1)), hierarchy=national()
    )
    assert hierarchy.members_on("cd", on) == expected


def test_without_an_own_report_members_are_summed_over_children() -> None:
    hierarchy = build(
        members("cs1", 40, D(2022, 1, 1)),
        members("cs1", 45, D(2022, 7, 1)),
        members("cs2", 13, D(2022, 3, 1)),
        hierarchy=national(),
    )
    assert hierarchy.members_on("cd", D(2022, 1, 1)) == 53  # cs2 only reported later
    assert hierarchy.members_on("cd", D(2022, 8, 1)) == 58
    assert hierarchy.members_on("bk", D(2022, 8, 1)) == 58  # bb has no figure: counts 0
    assert hierarchy.members_on("bb", D(2022, 8, 1)) is None
    assert hierarchy.members_on("qn", D(2022, 8, 1)) is None


def test_an_own_report_wins_over_the_children_sum() -> None:
    hierarchy = build(
        members("cs1", 40, D(2022, 1, 1)),
        members("bb", 7, D(2022, 1, 1)),
        members("bk", 13_500, D(2022, 1, 1)),
        hierarchy=national(),
    )
    assert hierarchy.members_on("bk", D(2022, 2, 1)) == 13_500
    assert hierarchy.members_on("tw", D(2022, 2, 1)) == 13_500


def test_closed_and_merged_children_leave_the_sum() -> None:
    hierarchy = build(
        members("cs1", 40, D(2022, 1, 1)),
        members("cs2", 13, D(2022, 1, 1)),
        members("bb", 7, D(2022, 1, 1)),
        UnitClosed(unit_id="bb"),
        UnitMerged(unit_id="cs1", into_unit_id="cs2"),
        hierarchy=national(),
    )
    assert hierarchy.members_on("bk", D(2022, 2, 1)) == 13
    assert hierarchy.members_on("cs1", D(2022, 2, 1)) == 40  # its own history stays readable


def test_a_deep_chain_needs_no_recursion() -> None:
    depth = 5_000
    hierarchy = tree(("u0", None), *((f"u{n}", f"u{n - 1}") for n in range(1, depth)))
    build(members(f"u{depth - 1}", 3, D(2022, 1, 1)), hierarchy=hierarchy)
    assert len(hierarchy.ancestors(f"u{depth - 1}")) == depth
    assert len(hierarchy.descendants("u0")) == depth - 1
    assert hierarchy.members_on("u0", D(2022, 1, 1)) == 3
    refused = refusal(hierarchy, UnitMoved(unit_id="u0", new_parent_id=f"u{depth - 1}"))
    assert refused.code == "hierarchy_cycle"


def test_a_national_sized_hierarchy_is_built_and_walked() -> None:
    """126,000 units: 1 + 63 provinces × 10 districts × 200 grassroots unions. How fast is
    measured by the benchmarks (the national rebuild), not here: a timed test fails on a
    busy machine, not on slow code."""
    hierarchy = build(unit("tw", level=UnitLevel.NATIONAL))
    for p in range(63):
        build(unit(f"p{p}", "tw", UnitLevel.PROVINCE), hierarchy=hierarchy)
        for d in range(10):
            build(unit(f"p{p}d{d}", f"p{p}", UnitLevel.DISTRICT), hierarchy=hierarchy)
            for g in range(200):
                build(unit(f"p{p}d{d}g{g}", f"p{p}d{d}"), hierarchy=hierarchy)
    for n in range(126_000):
        hierarchy.ancestors(f"p{n % 63}d{n % 10}g{n % 200}")
    assert len(hierarchy.descendants("tw")) == 63 + 630 + 126_000
