"""Phases are read in the campaign's local time, with an inclusive last day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.phases import Window, local_date, phase_containing

from .factories import VN, phase

NATIONAL = [phase("I", "2022-01-01", "2022-05-31"), phase("II", "2022-06-01", "2023-09-30")]
UTC = dt.UTC


def phase_at(at: dt.datetime, zone: ZoneInfo = VN) -> str | None:
    found = phase_containing(NATIONAL, local_date(at, zone))
    return None if found is None else found.phase_id


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2022-05-31T23:59:59+07:00", "I"),
        ("2022-05-31T16:59:59+00:00", "I"),
        ("2022-05-31T17:00:00+00:00", "II"),  # 1 June 00:00 in Hà Nội
        ("2022-06-01T00:00:00+07:00", "II"),
        ("2022-06-01T06:59:59+14:00", "I"),  # still 31 May in Hà Nội
        ("2022-05-31T12:00:00-10:00", "II"),  # already 1 June in Hà Nội
        ("2022-01-01T00:00:00+07:00", "I"),
        ("2021-12-31T23:59:59+07:00", None),
        ("2023-09-30T23:59:59+07:00", "II"),
        ("2023-09-30T17:00:00+00:00", None),
    ],
)
def test_the_phase_is_decided_by_the_local_date(instant: str, expected: str | None) -> None:
    assert phase_at(dt.datetime.fromisoformat(instant)) == expected


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="has no UTC offset"):
        local_date(dt.datetime(2022, 5, 31, 23, 59), VN)


def test_phase_instants_are_local_midnights() -> None:
    first = NATIONAL[0]
    assert Window.of(first, VN).start == dt.datetime(2021, 12, 31, 17, tzinfo=UTC)
    assert Window.of(first, VN).deadline == dt.datetime(2022, 5, 31, 17, tzinfo=UTC)
    assert Window.of(first, VN).deadline.utcoffset() == dt.timedelta(hours=7)


@pytest.mark.parametrize(
    ("now", "share"),
    [
        ("2021-06-01T00:00:00+07:00", 0.0),
        ("2022-01-01T00:00:00+07:00", 0.0),
        ("2022-01-11T00:00:00+07:00", 10 / 151),
        ("2022-06-01T00:00:00+07:00", 1.0),
        ("2024-01-01T00:00:00+00:00", 1.0),
    ],
)
def test_elapsed_share(now: str, share: float) -> None:
    assert Window.of(NATIONAL[0], VN).elapsed(dt.datetime.fromisoformat(now)) == pytest.approx(
        share
    )


@pytest.mark.parametrize(
    ("instant", "running"),
    [
        ("2021-12-31T23:59:59+07:00", False),  # not started
        ("2022-01-01T00:00:00+07:00", True),
        ("2022-05-31T23:59:59+07:00", True),  # the last day runs to its end
        ("2022-05-31T17:00:00+00:00", False),  # 1 June 00:00 in Hà Nội: over
        ("2026-03-02T09:00:00+07:00", False),
    ],
)
def test_a_phase_runs_from_its_first_local_midnight_to_the_one_after_its_last_day(
    instant: str, running: bool
) -> None:
    assert Window.of(NATIONAL[0], VN).running(dt.datetime.fromisoformat(instant)) is running


def test_elapsed_share_counts_real_hours_across_a_dst_change() -> None:
    paris = ZoneInfo("Europe/Paris")
    march = phase("m", "2022-03-27", "2022-03-27")  # a 23-hour day
    noon_utc = dt.datetime(2022, 3, 27, 10, tzinfo=UTC)  # 11 real hours after local midnight
    assert Window.of(march, paris).elapsed(noon_utc) == pytest.approx(11 / 23)


offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
around_boundaries = st.sampled_from(
    [Window.of(NATIONAL[0], VN).deadline, Window.of(NATIONAL[0], VN).start]
).flatmap(
    lambda boundary: st.integers(-2 * 86_400, 2 * 86_400).map(
        lambda seconds: boundary + dt.timedelta(seconds=seconds)
    )
)


@settings(max_examples=200)
@given(around_boundaries, offsets)
def test_the_same_instant_in_any_offset_has_the_same_phase(
    at: dt.datetime, offset: dt.timezone
) -> None:
    assert phase_at(at.astimezone(offset)) == phase_at(at.astimezone(UTC))


@settings(max_examples=200)
@given(around_boundaries, offsets)
def test_a_phase_holds_exactly_the_instants_between_its_midnights(
    at: dt.datetime, offset: dt.timezone
) -> None:
    inside = [p.phase_id for p in NATIONAL if Window.of(p, VN).running(at)]
    assert phase_at(at.astimezone(offset)) == (inside[0] if inside else None)
