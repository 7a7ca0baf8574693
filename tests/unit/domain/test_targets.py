"""Plans, target resolution with its cascade, target arithmetic and phase attribution."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contracts.campaigns import AppliesTo, Metric, PlanSet, TargetKind
from shared.contracts.units import UnitClosed, UnitMerged
from shared.domain.campaign import Campaign, Campaigns
from shared.domain.errors import DomainError
from shared.domain.hierarchy import Hierarchy
from shared.domain.plans import Plans, check_plan, effective_plan
from shared.domain.targets import (
    CountsIn,
    ResolvedTarget,
    counting_path,
    effective_target,
    phase_for,
    required_count,
)

from .factories import (
    CAMPAIGN,
    SEED_TIME,
    VN,
    build,
    campaign_defined,
    members,
    phase,
    plan,
    target,
    tree,
)

RATIO = TargetKind.RATIO_OF_MEMBERS
PHASES = [phase("1", "2022-01-01", "2022-05-31"), phase("2", "2022-06-01", "2022-12-31")]


def path() -> Hierarchy:
    """tw → bk → cd → cs, plus a sibling grassroots union cs2 under cd."""
    return tree(("tw", None), ("bk", "tw"), ("cd", "bk"), ("cs", "cd"), ("cs2", "cd"))


def plans_of(*plan_sets: PlanSet) -> Plans:
    plans = Plans()
    for each in plan_sets:
        plans.set(each, SEED_TIME)
    return plans


def required(hierarchy: Hierarchy, plans: Plans, unit_id: str, phase_id: str | None) -> int | None:
    found = effective_target(hierarchy, plans, "1m", unit_id, phase_id)
    assert found is not None
    return found.required


# -- arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "members", "expected"),
    [
        (TargetKind.COUNT, "118", None, 118),
        (TargetKind.COUNT, "36", 13_500, 36),
        (RATIO, "0.05", 13_300, 665),
        (RATIO, "0.05", 13_301, 666),
        (RATIO, "0.07", 100, 7),  # float: 0.07 * 100 = 7.000000000000001 → 8
        (RATIO, "0.3", 13, 4),
        (RATIO, "0.15", 0, 0),
        (RATIO, "0.05", None, None),
    ],
)
def test_required_count(
    kind: TargetKind, value: str, members: int | None, expected: int | None
) -> None:
    assert required_count(kind, Decimal(value), members) == expected


ratios = st.decimals(min_value=Decimal("0.0001"), max_value=1, places=4)


@settings(max_examples=200)
@given(ratios, st.integers(0, 20_000_000), st.integers(0, 20_000_000))
def test_ratio_targets_are_exact_ceilings_monotone_in_members(
    value: Decimal, few: int, many: int
) -> None:
    few, many = sorted((few, many))
    low, high = required_count(RATIO, value, few), required_count(RATIO, value, many)
    assert low == math.ceil(Fraction(value) * few)
    assert low is not None
    assert high is not None
    assert low <= high


# -- plans --------------------------------------------------------------------------------


def test_a_new_plan_replaces_the_old_one_and_plans_are_per_campaign() -> None:
    plans = plans_of(plan("bk", PHASES, [target("1", "10")]))
    replacement = plan("bk", PHASES[:1], [])
    plans.set(replacement, SEED_TIME)
    assert plans.own("1m", "bk") == replacement
    assert plans.own("other", "bk") is None


def test_the_effective_plan_is_the_nearest_one_up_the_path() -> None:
    national = plan("tw", PHASES[:1], [])
    province = plan("bk", PHASES, [])
    plans = plans_of(national, province)
    hierarchy = path()
    assert effective_plan(hierarchy, plans, "1m", "cs") == province
    assert effective_plan(hierarchy, plans, "1m", "tw") == national
    assert effective_plan(hierarchy, plans, "other", "cs") is None


def test_plans_need_a_defined_campaign_and_an_open_unit() -> None:
    campaigns = Campaigns()
    campaigns.apply(campaign_defined())
    hierarchy = build(UnitClosed(unit_id="cs2"), hierarchy=path())
    check_plan(plan("cs", PHASES, []), hierarchy, campaigns, SEED_TIME)
    cases = [
        (plan("cs", PHASES, [], campaign="x"), "unknown_campaign", "the campaign is not defined"),
        (plan("zz", PHASES, []), "unknown_unit", "unit 'zz' is not registered"),
        (plan("cs2", PHASES, []), "unit_not_open", "unit 'cs2' is closed"),
    ]
    for plan_set, code, why in cases:
        with pytest.raises(DomainError) as refused:
            check_plan(plan_set, hierarchy, campaigns, SEED_TIME)
        assert refused.value.code == code
        assert refused.value.reason == (
            f"cannot set the plan of unit {plan_set.unit_id!r} for campaign "
            f"{plan_set.campaign_id!r}: {why}"
        )


def test_campaigns_are_defined_once() -> None:
    campaigns = Campaigns()
    campaigns.check(campaign_defined())
    campaigns.apply(campaign_defined(zone="Asia/Bangkok"))
    assert campaigns.get("1m") == Campaign("1m", "1 triệu sáng kiến", ZoneInfo("Asia/Bangkok"))
    with pytest.raises(DomainError) as duplicate:
        campaigns.check(campaign_defined())
    assert (duplicate.value.code, duplicate.value.reason) == (
        "duplicate_campaign",
        "campaign '1m' is already defined",
    )
    with pytest.raises(DomainError) as unknown:
        campaigns.get("2m")
    assert (unknown.value.code, unknown.value.reason) == (
        "unknown_campaign",
        "campaign '2m' is not defined",
    )


# -- cascade ------------------------------------------------------------------------------

OWN = plan("cs", PHASES, [target("1", "5")])
PARENT_CHILDREN = plan("cd", PHASES, [target("1", "6", applies_to=AppliesTo.CHILDREN)])
PARENT_DESCENDANTS = plan("cd", PHASES, [target("1", "8", applies_to=AppliesTo.DESCENDANTS)])
PARENT_BOTH = plan(
    "cd",
    PHASES,
    [
        target("1", "6", applies_to=AppliesTo.CHILDREN),
        target("1", "8", applies_to=AppliesTo.DESCENDANTS),
    ],
)
GRANDPARENT_CHILDREN = plan("bk", PHASES, [target("1", "9", applies_to=AppliesTo.CHILDREN)])
GRANDPARENT_DESCENDANTS = plan("bk", PHASES, [target("1", "7", applies_to=AppliesTo.DESCENDANTS)])
ROOT_DESCENDANTS = plan("tw", PHASES, [target("1", "3", applies_to=AppliesTo.DESCENDANTS)])


@pytest.mark.parametrize(
    ("plan_sets", "expected", "source"),
    [
        ([OWN, PARENT_BOTH, GRANDPARENT_DESCENDANTS], 5, "cs"),
        ([PARENT_BOTH, GRANDPARENT_DESCENDANTS], 6, "cd"),
        ([PARENT_CHILDREN, GRANDPARENT_DESCENDANTS], 6, "cd"),
        ([PARENT_DESCENDANTS, GRANDPARENT_DESCENDANTS], 8, "cd"),
        ([GRANDPARENT_DESCENDANTS, ROOT_DESCENDANTS], 7, "bk"),
        ([GRANDPARENT_CHILDREN, ROOT_DESCENDANTS], 3, "tw"),  # a children rule skips grandchildren
        ([plan("cs", PHASES, [target("2", "4")]), PARENT_CHILDREN], 6, "cd"),  # own plan, no rule
    ],
)
def test_cascade_precedence(plan_sets: list[PlanSet], expected: int, source: str) -> None:
    found = effective_target(path(), plans_of(*plan_sets), "1m", "cs", "1")
    assert found is not None
    assert (found.required, found.source_unit_id) == (expected, source)


def test_no_target_when_no_rule_reaches_the_unit() -> None:
    hierarchy = path()
    plans = plans_of(
        plan("bk", PHASES, [target("1", "50"), target("2", "9", applies_to=AppliesTo.DESCENDANTS)])
    )
    assert effective_target(hierarchy, plans, "1m", "cd", "1") is None  # bk's own target only
    assert effective_target(hierarchy, plans, "1m", "cd", None) is None
    assert effective_target(hierarchy, plans, "1m", "tw", "2") is None  # rules never go up
    assert required(hierarchy, plans, "bk", "1") == 50


def test_ratio_targets_use_the_members_on_the_first_day_of_the_phase() -> None:
    hierarchy = build(
        members("cs", 40, dt.date(2021, 12, 1)),
        members("cs", 60, dt.date(2022, 6, 1)),
        hierarchy=path(),
    )
    plans = plans_of(
        plan(
            "cd",
            PHASES,
            [
                target("1", "0.3", RATIO, AppliesTo.CHILDREN, Metric.APPROVED),
                target("2", "0.3", RATIO, AppliesTo.CHILDREN),
                target(None, "0.5", RATIO, AppliesTo.CHILDREN),
            ],
        )
    )
    assert effective_target(hierarchy, plans, "1m", "cs", "1") == ResolvedTarget(
        kind=RATIO,
        value=Decimal("0.3"),
        metric=Metric.APPROVED,
        required=12,
        source_unit_id="cd",
        applies_to=AppliesTo.CHILDREN,
        members=40,
    )
    assert required(hierarchy, plans, "cs", "2") == 18
    assert required(hierarchy, plans, "cs", None) == 20  # the campaign starts with phase 1


def test_a_ratio_target_without_any_membership_report_has_no_required_count() -> None:
    plans = plans_of(plan("cd", PHASES, [target("1", "0.3", RATIO, AppliesTo.CHILDREN)]))
    found = effective_target(path(), plans, "1m", "cs2", "1")
    assert found is not None
    assert (found.required, found.members) == (None, None)


# -- phases of an initiative --------------------------------------------------------------

NATIONAL_PHASES = [phase("I", "2022-01-01", "2022-05-31"), phase("II", "2022-06-01", "2023-09-30")]
PROVINCE_PHASES = [
    phase("1", "2022-01-01", "2022-05-31"),
    phase("2", "2022-06-01", "2022-12-31"),
    phase("3", "2023-01-01", "2023-09-30"),
]


def two_schemes() -> Plans:
    return plans_of(plan("tw", NATIONAL_PHASES, []), plan("bk", PROVINCE_PHASES, []))


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2022-05-31T23:59:59+07:00", [("cs", "1"), ("cd", "1"), ("bk", "1"), ("tw", "I")]),
        ("2022-05-31T17:00:00+00:00", [("cs", "2"), ("cd", "2"), ("bk", "2"), ("tw", "II")]),
        ("2023-02-01T09:00:00+07:00", [("cs", "3"), ("cd", "3"), ("bk", "3"), ("tw", "II")]),
        ("2023-10-01T09:00:00+07:00", [("cs", None), ("cd", None), ("bk", None), ("tw", None)]),
    ],
)
def test_an_initiative_counts_in_each_units_own_phase(
    instant: str, expected: list[tuple[str, str | None]]
) -> None:
    found = counting_path(path(), two_schemes(), CAMPAIGN, "cs", dt.datetime.fromisoformat(instant))
    assert [(a.unit_id, None if a.phase is None else a.phase.phase_id) for a in found] == expected


def test_phase_for_a_unit_without_any_plan_is_none() -> None:
    assert phase_for(path(), Plans(), CAMPAIGN, "cs", dt.datetime(2022, 3, 1, tzinfo=VN)) is None


def test_a_merged_units_initiatives_count_along_the_targets_path() -> None:
    hierarchy = build(UnitMerged(unit_id="cd", into_unit_id="bk"), hierarchy=path())
    at = dt.datetime(2022, 3, 1, tzinfo=VN)
    assert counting_path(hierarchy, two_schemes(), CAMPAIGN, "cd", at) == (
        CountsIn("bk", PROVINCE_PHASES[0]),
        CountsIn("tw", NATIONAL_PHASES[0]),
    )
    assert [a.unit_id for a in counting_path(hierarchy, two_schemes(), CAMPAIGN, "cs", at)] == [
        "cs",
        "bk",
        "tw",
    ]
