"""Random (value, target, phase, instant) cases for comparing the status SQL with the domain,
instants weighted to the boundaries where an off-by-one would show."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from hypothesis import strategies as st

from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import Window
from shared.domain.progress import PACE, Status, status

SOURCE = (
    "(SELECT {value} AS value, {target} AS target, {starts_on} AS starts_on, {ends_on} AS ends_on)"
)
"""A one-row relation for ``views.judged``, formatted with each dialect's typed parameters."""


@dataclass(frozen=True, slots=True)
class Case:
    value: int
    target: int | None
    window: Window
    at: dt.datetime
    """Whole milliseconds: SQLite's resolution."""

    @property
    def expected(self) -> Status:
        return status(self.value, self.target, self.window, self.at)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    starts_on = draw(st.dates(dt.date(2021, 1, 1), dt.date(2025, 12, 31)))
    window = Window(
        starts_on, starts_on + dt.timedelta(days=draw(st.integers(0, 400))), CAMPAIGN_ZONE
    )
    length = window.deadline - window.start
    pace_from = length * PACE.from_elapsed
    second = dt.timedelta(seconds=1)
    offset = draw(
        st.sampled_from(
            [
                dt.timedelta(0),
                -second,
                length,
                length - second,
                pace_from,
                pace_from - second,
                pace_from + second,
            ]
        )
        | st.integers(
            -2 * 86_400_000, (length + dt.timedelta(days=2)) // dt.timedelta(milliseconds=1)
        ).map(lambda ms: dt.timedelta(milliseconds=ms))
    )
    at = window.start + offset // dt.timedelta(milliseconds=1) * dt.timedelta(milliseconds=1)
    target = None if draw(st.integers(0, 9)) == 9 else draw(st.integers(1, 5_000))
    needed = (target or 0) * window.elapsed(at) * PACE.tolerance
    value = draw(
        st.integers(0, target or 10)
        | st.sampled_from([math.floor(needed), math.ceil(needed), target or 0])
    )
    return Case(value, target, window, at)
