"""The two cases the product was specified from (Ba Chẽ and Bắc Kạn), end to end."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from shared.contracts.base import EventData
from shared.contracts.campaigns import AppliesTo, TargetKind
from shared.contracts.units import UnitLevel
from shared.domain.hierarchy import Hierarchy
from shared.domain.initiative import counts_as_submitted, replay
from shared.domain.plans import Plans
from shared.domain.targets import counting_path, effective_target, phase_for

from .factories import (
    CAMPAIGN,
    SEED_TIME,
    VN,
    build,
    fact,
    members,
    phase,
    plan,
    submitted,
    target,
    unit,
)

RATIO = TargetKind.RATIO_OF_MEMBERS


def required(hierarchy: Hierarchy, plans: Plans, unit_id: str, phase_id: str | None) -> int | None:
    found = effective_target(hierarchy, plans, "1m", unit_id, phase_id)
    assert found is not None
    return found.required


def national() -> Hierarchy:
    return build(unit("tw", level=UnitLevel.NATIONAL))


# -- Ba Chẽ (Quảng Ninh), 8 April 2022: absolute targets -----------------------------------


def ba_che() -> tuple[Hierarchy, Plans]:
    hierarchy = build(
        unit("qn", "tw", UnitLevel.PROVINCE),
        unit("bache", "qn", UnitLevel.DISTRICT),
        unit("bache-cq", "bache", UnitLevel.DISTRICT),  # Công đoàn các cơ quan huyện
        unit("bache-cq-ubnd", "bache-cq"),
        hierarchy=national(),
    )
    plans = Plans()
    plans.set(
        plan(
            "bache-cq",
            [phase("I", "2022-01-01", "2022-05-31"), phase("II", "2022-06-01", "2023-09-30")],
            [target("I", "36"), target("II", "82"), target(None, "118")],
        ),
        SEED_TIME,
    )
    return hierarchy, plans


def test_ba_che_agencies_union_targets_by_count() -> None:
    hierarchy, plans = ba_che()
    assert required(hierarchy, plans, "bache-cq", "I") == 36
    assert required(hierarchy, plans, "bache-cq", "II") == 82
    assert required(hierarchy, plans, "bache-cq", None) == 118 == 36 + 82
    # Its targets are its own ("self"): they are not quotas for its grassroots unions.
    assert effective_target(hierarchy, plans, "1m", "bache-cq-ubnd", "I") is None


def test_ba_che_phase_i_runs_to_the_end_of_may_local_time() -> None:
    hierarchy, plans = ba_che()

    def phase_of(instant: str) -> str | None:
        at = dt.datetime.fromisoformat(instant)
        found = phase_for(hierarchy, plans, CAMPAIGN, "bache-cq-ubnd", at)
        return None if found is None else found.phase_id

    assert phase_of("2022-05-31T23:59:59+07:00") == "I"
    assert phase_of("2022-05-31T17:00:00+00:00") == "II"
    assert phase_of("2023-09-30T23:59:59+07:00") == "II"  # "September 2023": to its last day
    assert phase_of("2023-10-01T00:00:00+07:00") is None


# -- Bắc Kạn, 12 May 2022: targets as shares of membership ---------------------------------

BK_PHASES = [
    phase("1", "2022-01-01", "2022-05-31"),
    phase("2", "2022-06-01", "2022-12-31"),
    phase("3", "2023-01-01", "2023-09-30"),
]


def bac_kan() -> tuple[Hierarchy, Plans]:
    hierarchy = build(
        unit("bk", "tw", UnitLevel.PROVINCE),
        members("bk", 13_500, dt.date(2022, 5, 12)),
        unit("chodon", "bk", UnitLevel.DISTRICT),
        unit("chodon-truong", "chodon"),
        members("chodon-truong", 40, dt.date(2022, 1, 1)),
        unit("chodon-tram-y-te", "chodon"),
        members("chodon-tram-y-te", 13, dt.date(2022, 1, 1)),
        unit("chodon-moi", "chodon"),
        hierarchy=national(),
    )
    plans = Plans()
    plans.set(
        plan(
            "tw",
            [phase("I", "2022-01-01", "2022-05-31"), phase("II", "2022-06-01", "2023-09-30")],
            [target("I", "300000"), target(None, "1000000")],
        ),
        SEED_TIME,
    )
    plans.set(
        plan(
            "bk",
            BK_PHASES,
            [
                target("1", "0.05", RATIO),
                target("2", "0.04", RATIO),
                target("3", "0.06", RATIO),
                target(None, "0.15", RATIO),
            ],
        ),
        SEED_TIME,
    )
    # "Each grassroots union ≥ 30 % of its staff per phase", set by the district union.
    plans.set(
        plan(
            "chodon",
            BK_PHASES,
            [target(p.phase_id, "0.3", RATIO, AppliesTo.CHILDREN) for p in BK_PHASES],
        ),
        SEED_TIME,
    )
    return hierarchy, plans


def test_bac_kan_province_targets_from_13500_members() -> None:
    hierarchy, plans = bac_kan()
    by_phase = [required(hierarchy, plans, "bk", p) for p in ("1", "2", "3")]
    assert by_phase == [675, 540, 810]
    assert required(hierarchy, plans, "bk", None) == 2025 == 675 + 540 + 810
    overall = effective_target(hierarchy, plans, "1m", "bk", None)
    assert overall is not None
    assert (overall.value, overall.members) == (Decimal("0.15"), 13_500)


def test_bac_kan_grassroots_unions_get_30_percent_of_their_staff_per_phase() -> None:
    hierarchy, plans = bac_kan()
    for phase_id in ("1", "2", "3"):
        assert required(hierarchy, plans, "chodon-truong", phase_id) == 12
        assert required(hierarchy, plans, "chodon-tram-y-te", phase_id) == 4  # ceil(3.9)
        assert required(hierarchy, plans, "chodon-moi", phase_id) is None  # no staff figure
    assert effective_target(hierarchy, plans, "1m", "chodon", "1") is None  # not a child rule


def test_bac_kan_455_submissions_on_12_may_are_67_4_percent_of_phase_1() -> None:
    hierarchy, plans = bac_kan()
    as_of = dt.datetime(2022, 5, 12, 13, 30, tzinfo=VN)
    first = dt.datetime(2022, 2, 1, 8, tzinfo=VN)
    histories: list[list[tuple[EventData, dt.datetime]]] = [
        [(submitted(f"s{n}", unit="chodon-truong"), first + dt.timedelta(hours=n))]
        for n in range(455)
    ]
    histories.append([(submitted("late", unit="chodon-truong"), as_of + dt.timedelta(minutes=1))])
    histories.append([(fact("registered", "only-registered"), first)])
    histories.append(
        [(submitted("gone", unit="chodon-truong"), first), (fact("withdrawn", "gone"), first)]
    )
    counted = 0
    for history in histories:
        state = replay(history)
        assert state is not None
        at = state.first_submitted_at
        if at is None or at > as_of or not counts_as_submitted(state.status):
            continue
        path = counting_path(hierarchy, plans, CAMPAIGN, state.unit_id, at)
        assert [(a.unit_id, a.phase and a.phase.phase_id) for a in path] == [
            ("chodon-truong", "1"),
            ("chodon", "1"),
            ("bk", "1"),
            ("tw", "I"),
        ]
        counted += 1
    assert counted == 455
    phase_one = required(hierarchy, plans, "bk", "1")
    assert phase_one == 675
    assert (Decimal(counted) / phase_one * 100).quantize(Decimal("0.1")) == Decimal("67.4")
    assert required(hierarchy, plans, "tw", "I") == 300_000
