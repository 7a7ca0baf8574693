"""One meaning of a unit's standing against its target, judged in the campaign's local time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from shared.contracts.campaigns import Metric
from shared.domain.phases import Window
from shared.domain.progress import (
    PaceRule,
    Status,
    forecast,
    metric_value,
    outcome,
    reached,
    standing,
    status,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
UTC7 = dt.timezone(dt.timedelta(hours=7))
BAC_KAN_PHASE_ONE = Window(dt.date(2022, 1, 1), dt.date(2022, 5, 31), VN)


def may(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2022, 5, day, hour, minute, tzinfo=UTC7)


@pytest.mark.parametrize(
    ("value", "moment", "expected"),
    [
        # 13:30 on 12 May: 87 % of the phase is gone; 455 is below 675 × 0.871 × 0.9 ≈ 529.
        (455, may(12, 13, 30), Status.AT_RISK),
        (530, may(12, 13, 30), Status.ON_TRACK),
        (675, may(12, 13, 30), Status.ACHIEVED),
        (674, dt.datetime(2022, 5, 31, 23, 59, 59, tzinfo=UTC7), Status.ON_TRACK),
        # Local midnight after the last day, written in UTC: the phase is over.
        (674, dt.datetime(2022, 5, 31, 17, 0, tzinfo=dt.UTC), Status.MISSED),
        (700, dt.datetime(2022, 7, 1, tzinfo=UTC7), Status.ACHIEVED),
        # Before local midnight of its first day the phase has not started.
        (0, dt.datetime(2021, 12, 31, 23, 59, 59, tzinfo=UTC7), Status.NOT_STARTED),
        (0, dt.datetime(2022, 1, 1, 0, 0, tzinfo=UTC7), Status.ON_TRACK),
        # A slow start is no risk before a quarter of the phase has gone (7 Feb 18:00)...
        (0, dt.datetime(2022, 2, 7, 17, tzinfo=UTC7), Status.ON_TRACK),
        # ...and is one from then on.
        (0, dt.datetime(2022, 2, 7, 19, tzinfo=UTC7), Status.AT_RISK),
    ],
)
def test_status_is_judged_against_the_pace_the_phase_needs_in_local_time(
    value: int, moment: dt.datetime, expected: Status
) -> None:
    assert status(value, 675, BAC_KAN_PHASE_ONE, moment) is expected


def test_without_a_target_there_is_no_status_to_judge() -> None:
    assert status(0, None, BAC_KAN_PHASE_ONE, may(12, 13)) is Status.NO_TARGET


def test_the_pace_rule_moves_the_risk_line() -> None:
    now = may(12, 13, 30)
    assert status(500, 675, BAC_KAN_PHASE_ONE, now) is Status.AT_RISK
    lenient = PaceRule(tolerance=0.8)
    assert status(500, 675, BAC_KAN_PHASE_ONE, now, lenient) is Status.ON_TRACK


def test_at_risk_is_the_forecast_falling_below_the_target_less_the_tolerance() -> None:
    judged = standing(455, 675, BAC_KAN_PHASE_ONE, may(12, 13, 30))
    assert judged.elapsed == pytest.approx(0.8713, abs=1e-4)
    assert judged.forecast == pytest.approx(455 / judged.elapsed)
    assert judged.forecast is not None
    assert judged.forecast < 675 * 0.9
    assert forecast(10, 0.0) is None


def test_the_final_outcome_is_achieved_or_missed() -> None:
    assert outcome(36, 36) is Status.ACHIEVED
    assert outcome(41, 82) is Status.MISSED
    assert outcome(0, 540) is Status.MISSED


def test_metrics_are_read_from_the_lifecycle() -> None:
    counts = {"registered": 4, "under_review": 3, "approved": 2, "recognized": 1, "withdrawn": 5}
    assert metric_value(Metric.SUBMITTED, counts) == 6
    assert metric_value(None, counts) == 6
    assert metric_value(Metric.APPROVED, counts) == 3


def test_shares_of_a_target_are_compared_exactly() -> None:
    assert reached(12, 15, 0.8)
    assert not reached(11, 15, 0.8)
