"""The notifier's rules decide each threshold once, judge the pace with hysteresis, and call
a phase missed only once it is over; keys are deterministic, digests daily."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.notifier.rules import (
    Decision,
    Figures,
    Rule,
    RuleConfig,
    crossed_threshold,
    decision_key,
    digest_cutoffs,
    digest_decision,
    judge,
    pace_transition,
    threshold_decision,
)
from services.notifier.settings import NotifierSettings
from tests.conftest import UTC7
from tests.unit.notifier import BAC_KAN_TARGET, CAMPAIGN, DEADLINE, PHASE_ONE

CONFIG = RuleConfig()
TWELFTH_OF_MAY = dt.datetime(2022, 5, 12, 13, 30, tzinfo=UTC7)


def bac_kan(value: int, *, target: int | None = BAC_KAN_TARGET, at_risk: bool = False) -> Figures:
    phase_id, name, starts_on, ends_on = PHASE_ONE
    return Figures(
        unit_id="bk",
        campaign_id=CAMPAIGN,
        phase_id=phase_id,
        phase_name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        metric="submitted",
        value=value,
        target=target,
        at_risk=at_risk,
    )


# -- threshold_crossed ----------------------------------------------------------------------


def test_several_thresholds_crossed_at_once_give_one_decision_naming_the_highest() -> None:
    decision = threshold_decision(bac_kan(560), CONFIG, decided=None)

    assert decision is not None
    assert (decision.rule, decision.threshold, decision.value, decision.target) == (
        Rule.THRESHOLD_CROSSED,
        0.8,
        560,
        675,
    )
    assert decision.key == "bk/1trieu/1/threshold_crossed/0.8"
    assert decision.details["ratio"] == 0.8296


def test_a_threshold_is_reached_exactly_without_float_rounding() -> None:
    assert crossed_threshold(12, 15, [0.8], decided=None) == 0.8
    assert crossed_threshold(11, 15, [0.8], decided=None) is None


def test_nothing_is_crossed_without_a_target_or_below_a_threshold_already_decided() -> None:
    assert crossed_threshold(500, None, [0.5], decided=None) is None
    assert crossed_threshold(500, 0, [0.5], decided=None) is None
    assert crossed_threshold(400, 675, [0.5, 0.8], decided=0.5) is None
    assert crossed_threshold(675, 675, [0.5, 0.8, 1.0], decided=0.5) == 1.0


@given(
    st.lists(
        st.tuples(st.integers(0, 1500), st.sampled_from([None, 0, 500, 675, 700])), max_size=30
    ),
    st.data(),
)
def test_a_threshold_is_decided_at_most_once_whatever_the_order_or_duplication(
    figures: list[tuple[int, int | None]], data: st.DataObject
) -> None:
    """However the changes are ordered and duplicated, each threshold is decided at most once,
    and decisions only ever climb."""
    redelivered = data.draw(st.permutations(figures + figures))
    decided: float | None = None
    thresholds: list[float] = []
    for value, target in redelivered:
        decision = threshold_decision(bac_kan(value, target=target), CONFIG, decided)
        if decision is not None:
            assert decision.threshold is not None
            thresholds.append(decision.threshold)
            decided = decision.threshold
    assert len(thresholds) == len(set(thresholds))
    assert thresholds == sorted(thresholds)
    assert set(thresholds) <= set(CONFIG.thresholds)


# -- at_risk / back_on_track -----------------------------------------------------------------


def test_bac_kan_with_455_of_675_and_19_days_left_is_at_risk() -> None:
    judged = judge(bac_kan(455), TWELFTH_OF_MAY, CONFIG)

    (decision,) = judged.decisions
    assert decision.rule is Rule.AT_RISK
    assert decision.key == "bk/1trieu/1/at_risk/2022-05-12"
    assert decision.details["forecast"] == 522
    assert decision.details["days_left"] == 19
    assert decision.details["elapsed_share"] == pytest.approx(0.8713, abs=1e-4)
    assert judged.figures.at_risk


def test_a_unit_already_at_risk_is_not_told_again() -> None:
    assert judge(bac_kan(455, at_risk=True), TWELFTH_OF_MAY, CONFIG).decisions == []


def test_pace_is_not_judged_before_the_configured_share_of_the_phase() -> None:
    march = dt.datetime(2022, 3, 1, tzinfo=UTC7)  # 39 % of phase 1
    assert judge(bac_kan(10), march, CONFIG).decisions == []
    early = RuleConfig(at_risk_from_elapsed=0.3)
    assert [d.rule for d in judge(bac_kan(10), march, early).decisions] == [Rule.AT_RISK]


def test_back_on_track_needs_the_margin_or_the_target_reached() -> None:
    # 87.13 % of the phase gone: the forecast is value / 0.8713.
    assert judge(bac_kan(600, at_risk=True), TWELFTH_OF_MAY, CONFIG).decisions == []  # 689
    recovered = judge(bac_kan(620, at_risk=True), TWELFTH_OF_MAY, CONFIG)  # 712 ≥ 708.75
    assert [d.rule for d in recovered.decisions] == [Rule.BACK_ON_TRACK]
    assert not recovered.figures.at_risk
    last_day = dt.datetime(2022, 5, 31, 23, 0, tzinfo=UTC7)
    reached = judge(bac_kan(675, at_risk=True), last_day, CONFIG)
    assert [d.rule for d in reached.decisions] == [Rule.BACK_ON_TRACK]


@given(
    st.booleans(),
    st.lists(st.floats(0.0, 0.049), min_size=1, max_size=40),
)
def test_hysteresis_never_alternates_on_forecasts_within_the_band(
    at_risk: bool, above: list[float]
) -> None:
    """Forecasts between the target and target × (1 + margin) never move the flag."""
    for share in above:
        assert pace_transition(at_risk, 600, 675 * (1 + share), 675, 0.05) is None


@given(st.lists(st.floats(0.5, 1.049), min_size=1, max_size=40))
def test_oscillating_around_the_line_is_notified_once(forecasts: list[float]) -> None:
    """Up and down across the target, below target × (1 + margin): at most one transition,
    the entry, however long it hovers."""
    at_risk, transitions = False, []
    for share in forecasts:
        rule = pace_transition(at_risk, 500, 675 * share, 675, 0.05)
        if rule is not None:
            transitions.append(rule)
            at_risk = rule is Rule.AT_RISK
    assert transitions in ([], [Rule.AT_RISK])


# -- missed ----------------------------------------------------------------------------------


def test_a_phase_over_below_target_is_missed_with_its_shortfall() -> None:
    (decision,) = judge(bac_kan(600), DEADLINE, CONFIG).decisions

    assert decision.rule is Rule.MISSED
    assert decision.key == "bk/1trieu/1/missed/2022-05-31"
    assert decision.details["shortfall"] == 75
    assert decision.details["deadline"] == "2022-06-01T00:00:00+07:00"


def test_nothing_is_missed_before_midnight_after_the_last_day_or_at_target() -> None:
    last_second = DEADLINE - dt.timedelta(seconds=1)
    assert judge(bac_kan(600, at_risk=True), last_second, CONFIG).decisions == []
    assert judge(bac_kan(675), DEADLINE, CONFIG).decisions == []
    assert judge(bac_kan(0, target=None), DEADLINE, CONFIG).decisions == []


def test_figures_from_before_the_deadline_are_not_judged_missed() -> None:
    """A change replayed from a backlog carries an old value; only figures known to include
    the deadline can tell whether the phase was missed."""
    early = dt.datetime(2022, 5, 20, tzinfo=UTC7)
    later = dt.datetime(2023, 1, 1, tzinfo=UTC7)
    assert judge(bac_kan(10), later, CONFIG, figures_as_of=early).decisions == []
    (decision,) = judge(bac_kan(10), later, CONFIG, figures_as_of=DEADLINE).decisions
    assert decision.rule is Rule.MISSED


# -- keys, digests, settings -----------------------------------------------------------------


def test_keys_are_unambiguous_whatever_the_ids_contain() -> None:
    assert decision_key("a/b", "c", "", Rule.MISSED, "2022-05-31") == "a%2Fb/c//missed/2022-05-31"
    assert decision_key("a", "b/c", "", Rule.MISSED, "x") != decision_key(
        "a/b", "c", "", Rule.MISSED, "x"
    )


def test_digest_cutoffs_catch_up_every_day_missed() -> None:
    after = dt.datetime(2022, 5, 31, 9, 0, tzinfo=UTC7)
    until = dt.datetime(2022, 6, 3, 8, 0, tzinfo=UTC7)

    cutoffs = digest_cutoffs(after, until, 8)

    assert [c.isoformat() for c in cutoffs] == [
        "2022-06-01T08:00:00+07:00",
        "2022-06-02T08:00:00+07:00",
        "2022-06-03T08:00:00+07:00",
    ]
    assert digest_cutoffs(until, until, 8) == []


def test_a_digest_lists_its_children_under_one_key_per_parent_phase_rule_and_day() -> None:
    children = [
        Decision(
            key=f"{unit}/1trieu/1/missed/2022-05-31",
            rule=Rule.MISSED,
            unit_id=unit,
            campaign_id=CAMPAIGN,
            phase_id="1",
            threshold=None,
            value=value,
            target=100,
            details={"phase_name": "Giai đoạn 1", "ends_on": "2022-05-31"},
        )
        for unit, value in (("bk-cm", 40), ("bk-bb", 90))
    ]
    cutoff = dt.datetime(2022, 6, 1, 8, tzinfo=UTC7)

    digest = digest_decision("bk", CAMPAIGN, "1", Rule.MISSED, cutoff, children)

    assert digest.key == "bk/1trieu/1/digest/missed%402022-06-01"
    assert (digest.rule, digest.value) == (Rule.DIGEST, 2)
    assert [c["unit_id"] for c in digest.details["children"]] == ["bk-bb", "bk-cm"]
    assert digest.details["since"] == "2022-05-31T08:00:00+07:00"
    assert digest.details["phase_name"] == "Giai đoạn 1"


def test_rules_are_configured_per_campaign_over_the_defaults() -> None:
    settings = NotifierSettings(
        campaign_rules={"2025": {"thresholds": [1.0, 0.3, 0.3], "back_on_track_margin": 0}}
    )

    assert settings.rules_for("1trieu") == RuleConfig()
    assert settings.rules_for("2025") == RuleConfig(
        thresholds=(0.3, 1.0), at_risk_from_elapsed=0.5, back_on_track_margin=0.0
    )
