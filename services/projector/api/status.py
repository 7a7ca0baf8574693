"""How a unit stands against its target, and how child units rank: pure rules.

The instant to judge at is always passed in (the clock's "now", or an "as of" moment), so a
dashboard, a printed report and a test all judge the same figures the same way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import StrEnum
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

from services.projector.schema import WHOLE_CAMPAIGN
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import Window
from shared.domain.progress import Status, status
from shared.text import fold_diacritics

"""Where phase dates are read; the read models do not carry each campaign's zone yet."""


class Sort(StrEnum):
    RATIO = "ratio"
    VALUE = "value"
    NAME = "name"


def evaluate(
    *,
    value: int,
    target: int | None,
    starts_on: dt.date,
    ends_on: dt.date,
    at: dt.datetime,
    zone: ZoneInfo = CAMPAIGN_ZONE,
) -> Status:
    """The domain's status of ``value`` against ``target`` in ``starts_on..ends_on`` at ``at``."""
    return status(value, target, Window(starts_on, ends_on, zone), at)


def ratio(value: int, target: int | None) -> float | None:
    """Share of the target reached (0.674 = 67.4 %); None without a positive target."""
    return value / target if target else None


class PhaseRow(Protocol):
    """What :func:`current_phase` reads of a row."""

    @property
    def phase_id(self) -> str: ...
    @property
    def starts_on(self) -> dt.date: ...
    @property
    def ends_on(self) -> dt.date: ...


class Rankable(Protocol):
    """What :func:`ranked` reads of an entry."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> int: ...
    @property
    def ratio(self) -> float | None: ...


W = TypeVar("W", bound=PhaseRow)
R = TypeVar("R", bound=Rankable)


def current_phase(rows: Iterable[W], on: dt.date) -> W | None:
    """The phase containing ``on``, else the whole campaign, else None."""
    candidates = list(rows)
    return next(
        (r for r in candidates if r.phase_id != WHOLE_CAMPAIGN and r.starts_on <= on <= r.ends_on),
        next((r for r in candidates if r.phase_id == WHOLE_CAMPAIGN), None),
    )


def ranked_phase(rows: Iterable[W], phase_id: str | None, on: dt.date) -> W | None:
    """The row a child is ranked on: ``phase_id`` (None: its current phase), else its whole
    campaign, as a child with a plan of its own may not have the phase asked for; None
    without a plan."""
    candidates = list(rows)
    if phase_id is None:
        return current_phase(candidates, on)
    whole = next((r for r in candidates if r.phase_id == WHOLE_CAMPAIGN), None)
    return next((r for r in candidates if r.phase_id == phase_id), whole)


def ranked(entries: Iterable[R], sort: Sort) -> list[R]:
    """Best first: by ratio (entries without one last), by value, or alphabetically.

    Ties fall back to the larger value, then the name without diacritics.
    """

    def key(entry: R) -> tuple[object, ...]:
        by_name = (fold_diacritics(entry.name), entry.name)
        if sort is Sort.NAME:
            return by_name
        if sort is Sort.VALUE:
            return (-entry.value, *by_name)
        return (entry.ratio is None, -(entry.ratio or 0.0), -entry.value, *by_name)

    return sorted(entries, key=key)
