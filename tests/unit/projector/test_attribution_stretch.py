"""A day's stretch stands for the day wherever only its phase matters: every plan, replaced
ones included, puts a day and its stretch in the same phase or in none, and the days of one
phase collapse to few stretches (what keeps a prolific author's places few)."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from services.projector.attribution import Attribution
from shared.contracts.base import EARLIEST_INSTANT
from shared.contracts.campaigns import PhaseSpec, PlanSet
from shared.domain.phases import phase_containing
from shared.eventstore.memory import InMemoryEventStore
from shared.reference import ReferenceView

START = dt.date(2022, 1, 1)
DAYS = 120


def _phases(offsets: list[tuple[int, int]]) -> list[PhaseSpec]:
    """Non-overlapping windows from (gap before, length) pairs."""
    phases, day = [], START
    for n, (gap, length) in enumerate(offsets):
        starts = day + dt.timedelta(days=gap)
        ends = starts + dt.timedelta(days=length)
        phases.append(
            PhaseSpec(phase_id=f"p{n}", name=f"phase {n}", starts_on=starts, ends_on=ends)
        )
        day = ends + dt.timedelta(days=1)
    return phases


windows = st.lists(st.tuples(st.integers(0, 20), st.integers(0, 30)), min_size=1, max_size=4)


def _attribution(plans: list[list[PhaseSpec]]) -> Attribution:
    view = ReferenceView(InMemoryEventStore())
    for n, phases in enumerate(plans):
        plan = PlanSet(campaign_id="c", unit_id=f"u{n % 2}", phases=phases)
        view.plans.set(plan, EARLIEST_INSTANT + dt.timedelta(days=n))
    return Attribution(view)


@given(st.lists(windows.map(_phases), min_size=1, max_size=4))
def test_every_plan_puts_a_day_and_its_stretch_in_the_same_phase(
    plans: list[list[PhaseSpec]],
) -> None:
    attribution = _attribution(plans)
    for offset in range(-5, DAYS):
        day = START + dt.timedelta(days=offset)
        stretch = attribution.stretch(day)
        for phases in plans:
            assert phase_containing(phases, stretch) == phase_containing(phases, day)


def test_the_days_of_one_phase_are_one_stretch() -> None:
    attribution = _attribution([_phases([(0, 29), (10, 29)])])
    days = [START + dt.timedelta(days=n) for n in range(-3, 90)]
    assert sorted({attribution.stretch(day) for day in days}) == [
        START - dt.timedelta(days=1),
        START,
        dt.date(2022, 1, 31),
        dt.date(2022, 2, 10),
        dt.date(2022, 3, 12),
    ]


def test_without_plans_a_day_stands_for_itself() -> None:
    assert _attribution([]).stretch(START) == START
