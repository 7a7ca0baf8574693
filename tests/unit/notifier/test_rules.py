"""The notifier's rules decide each threshold once, tell when the domain status enters or
leaves at risk while the phase runs, and judge every target's outcome once after its
deadline; keys are deterministic, digests daily. The pace decisions agree with the status
the query API shows (``shared.domain.progress``) for any figures and instants."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifier.rules import (
    Decision,
    Row,
    Rule,
    RuleConfig,
    Trigger,
    crossed_threshold,
    decision_key,
    digest_cutoffs,
    digest_decision,
    judge,
)
from services.notifier.settings import NotifierSettings
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.progress import Status, status
from tests.conftest import UTC7
from tests.unit.notifier import BAC_KAN_TARGET, CAMPAIGN, DEADLINE, PHASE_ONE

CONFIG = RuleConfig(outcome_grace=dt.timedelta(0))
TWELFTH_OF_MAY = dt.datetime(2022, 5, 12, 13, 30, tzinfo=UTC7)


def bac_kan(value: int, *, target: int | None = BAC_KAN_TARGET, at_risk: bool = False) -> Row:
    phase_id, name, starts_on, ends_on = PHASE_ONE
    return Row(
        unit_id="bk",
        campaign_id=CAMPAIGN,
        phase_id=phase_id,
        phase_name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        metric="submitted",
        value=value,
        target=target,
        as_of=TWELFTH_OF_MAY,
        at_risk=at_risk,
    )


def verdict(
    row: Row, at: dt.datetime, trigger: Trigger, rule: Rule | None = None
) -> Decision | None:
    """The one decision of ``rule`` (any rule if None) the trigger takes, if any."""
    found = [d for d in judge(row, trigger, at, at, CONFIG).decisions if rule in (None, d.rule)]
    assert len(found) <= 1
    return found[0] if found else None


# -- threshold_crossed ----------------------------------------------------------------------


def test_several_thresholds_crossed_at_once_give_one_decision_naming_the_highest() -> None:
    decision = verdict(bac_kan(560), TWELFTH_OF_MAY, Trigger.CHANGE)

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
        row = replace(bac_kan(value, target=target), decided_threshold=decided)
        decision = verdict(row, TWELFTH_OF_MAY, Trigger.CHANGE, Rule.THRESHOLD_CROSSED)
        if decision is not None:
            assert decision.threshold is not None
            thresholds.append(decision.threshold)
            decided = decision.threshold
    assert len(thresholds) == len(set(thresholds))
    assert thresholds == sorted(thresholds)
    assert set(thresholds) <= set(CONFIG.thresholds)


# -- at_risk / back_on_track -----------------------------------------------------------------


def test_bac_kan_with_455_of_675_and_19_days_left_is_at_risk() -> None:
    judged = judge(bac_kan(455), Trigger.TICK, TWELFTH_OF_MAY, TWELFTH_OF_MAY, CONFIG)

    (decision,) = judged.decisions
    assert decision.rule is Rule.AT_RISK
    assert decision.key == "bk/1trieu/1/at_risk/20220512T063000.000000Z"
    assert decision.details["forecast"] == 522
    assert decision.details["days_left"] == 19
    assert decision.details["elapsed_share"] == pytest.approx(0.8713, abs=1e-4)
    assert judged.row.at_risk


def test_a_unit_already_at_risk_is_not_told_again() -> None:
    assert verdict(bac_kan(455, at_risk=True), TWELFTH_OF_MAY, Trigger.TICK) is None


def test_a_slow_start_is_no_risk_before_a_quarter_of_the_phase() -> None:
    february = dt.datetime(2022, 2, 1, tzinfo=UTC7)  # 21 % of phase 1
    assert verdict(bac_kan(0), february, Trigger.TICK) is None
    march = dt.datetime(2022, 3, 1, tzinfo=UTC7)  # 39 %
    assert verdict(bac_kan(10), march, Trigger.TICK, Rule.AT_RISK) is not None


def test_back_on_track_once_the_status_leaves_at_risk() -> None:
    # 87.13 % gone: at risk below 675 × 0.8713 × 0.9 = 529.3.
    assert verdict(bac_kan(529, at_risk=True), TWELFTH_OF_MAY, Trigger.TICK) is None
    recovered = judge(
        bac_kan(530, at_risk=True), Trigger.TICK, TWELFTH_OF_MAY, TWELFTH_OF_MAY, CONFIG
    )
    assert [d.rule for d in recovered.decisions] == [Rule.BACK_ON_TRACK]
    assert not recovered.row.at_risk


def test_no_pace_news_after_the_deadline_or_for_figures_from_before_the_phase() -> None:
    assert verdict(bac_kan(10), DEADLINE, Trigger.TICK, Rule.AT_RISK) is None
    backfill = replace(bac_kan(10), starts_on=dt.date(2022, 6, 1), ends_on=dt.date(2022, 9, 30))
    assert verdict(backfill, TWELFTH_OF_MAY, Trigger.CHANGE) is None


instants = st.datetimes(
    min_value=dt.datetime(2021, 12, 1), max_value=dt.datetime(2022, 7, 1), timezones=st.just(UTC7)
)


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 800), st.sampled_from([None, 300, 675]), instants), max_size=25
    )
)
def test_after_any_sequence_the_last_pace_decision_matches_the_status_the_api_shows(
    steps: list[tuple[int, int | None, dt.datetime]],
) -> None:
    """Figures and instants in any order: while the phase runs, the unit has been told
    ``at_risk`` (and not ``back_on_track`` since) exactly when the query API's status at that
    instant is ``at_risk``; after the deadline the outcome is the API's final status."""
    row = bac_kan(0)
    for value, target, at in steps:
        row = replace(row, value=value, target=target, as_of=at)
        judged = judge(row, Trigger.CHANGE, at, at, CONFIG)
        row = judged.row
        shown = status(value, target, row.window(CAMPAIGN_ZONE), at)
        if row.window(CAMPAIGN_ZONE).running(at) and target is not None:
            assert row.at_risk == (shown is Status.AT_RISK)
    if row.target is not None:
        after = judge(row, Trigger.DEADLINE, DEADLINE, DEADLINE, CONFIG)
        (decision,) = after.decisions
        assert decision.rule.value == status(row.value, row.target, row.window(), DEADLINE)


# -- missed / achieved -----------------------------------------------------------------------


def test_a_phase_over_below_target_is_missed_with_its_shortfall() -> None:
    decision = verdict(bac_kan(600), DEADLINE, Trigger.DEADLINE)

    assert decision is not None
    assert decision.rule is Rule.MISSED
    assert decision.key == "bk/1trieu/1/outcome/2022-05-31"
    assert decision.details["shortfall"] == 75
    assert decision.details["deadline"] == "2022-06-01T00:00:00+07:00"
    assert decision.about == DEADLINE


def test_a_phase_over_at_target_is_achieved_under_the_same_key() -> None:
    decision = verdict(bac_kan(675), DEADLINE, Trigger.DEADLINE)

    assert decision is not None
    assert decision.rule is Rule.ACHIEVED
    assert decision.key == "bk/1trieu/1/outcome/2022-05-31"


def test_an_outcome_is_judged_once_after_the_deadline_and_its_grace_only() -> None:
    last_second = DEADLINE - dt.timedelta(seconds=1)
    assert verdict(bac_kan(600), last_second, Trigger.DEADLINE) is None
    assert verdict(bac_kan(0, target=None), DEADLINE, Trigger.DEADLINE) is None
    judged = replace(bac_kan(600), outcome=Status.MISSED)
    assert verdict(judged, DEADLINE, Trigger.DEADLINE) is None
    graced = RuleConfig(outcome_grace=dt.timedelta(minutes=15))
    assert judge(bac_kan(600), Trigger.DEADLINE, DEADLINE, DEADLINE, graced).decisions == []


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


def test_thresholds_are_configured_per_campaign_over_the_defaults() -> None:
    settings = NotifierSettings(campaign_rules={"2025": {"thresholds": [1.0, 0.3, 0.3]}})

    assert settings.rules_for("1trieu").thresholds == RuleConfig().thresholds
    assert settings.rules_for("2025").thresholds == (0.3, 1.0)
