"""Phases are windows of local dates; instants are read in the campaign's time zone.

"Until the end of May 2022" in Hà Nội means up to 31 May 23:59:59 at UTC+7, so an instant is
first turned into a local date and only then compared with inclusive phase bounds.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from shared.contracts.campaigns import PhaseSpec


def require_aware(at: dt.datetime) -> dt.datetime:
    """Refuse naive datetimes: they would silently be read in the server's time zone."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"instant {at.isoformat()} has no UTC offset")
    return at


def local_date(at: dt.datetime, zone: ZoneInfo) -> dt.date:
    """The calendar day ``at`` falls on in ``zone``."""
    return require_aware(at).astimezone(zone).date()


def phase_containing(phases: Sequence[PhaseSpec], on: dt.date) -> PhaseSpec | None:
    """The phase whose window (both ends inclusive) contains ``on``; plans never overlap."""
    return next((phase for phase in phases if phase.starts_on <= on <= phase.ends_on), None)


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    """The first instant of ``day`` in ``zone``."""
    # A midnight skipped by a DST jump resolves (fold=0) to the first instant of the day.
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


@dataclass(frozen=True, slots=True)
class Window:
    """A phase's days, both inclusive, read in ``zone``: it runs from local midnight of its
    first day up to, not including, local midnight after its last day (its deadline)."""

    starts_on: dt.date
    ends_on: dt.date
    zone: ZoneInfo

    @classmethod
    def of(cls, phase: PhaseSpec, zone: ZoneInfo) -> Window:
        return cls(phase.starts_on, phase.ends_on, zone)

    @property
    def start(self) -> dt.datetime:
        return _bounds(self.starts_on, self.ends_on, self.zone)[0]

    @property
    def deadline(self) -> dt.datetime:
        """The instant the phase is over: a target not reached by then is missed."""
        return _bounds(self.starts_on, self.ends_on, self.zone)[1]

    def running(self, at: dt.datetime) -> bool:
        """Whether ``at`` falls in the phase: news about it (a threshold reached, a pace
        falling behind) is news only then."""
        return self.start <= require_aware(at) < self.deadline

    def days_left(self, at: dt.datetime) -> int:
        """Whole days after the day of ``at`` until the last day: 0 on the last day (and
        after it), as every reader (messages, dashboard, API) counts them."""
        return max((self.ends_on - local_date(at, self.zone)).days, 0)

    def elapsed(self, at: dt.datetime) -> float:
        """How much of the phase has passed at ``at``, in [0, 1]; used to judge the pace."""
        _, _, start, length = _bounds(self.starts_on, self.ends_on, self.zone)
        # Subtracting datetimes that share a tzinfo ignores DST offsets, so compare in UTC.
        share = (require_aware(at).astimezone(dt.UTC) - start) / length
        return min(1.0, max(0.0, share))


@functools.lru_cache(maxsize=4096)
def _bounds(
    starts_on: dt.date, ends_on: dt.date, zone: ZoneInfo
) -> tuple[dt.datetime, dt.datetime, dt.datetime, dt.timedelta]:
    """A window's start and deadline, the start in UTC and the length: a ranking judges
    hundreds of children in the same few phases, and building these instants was a third of
    judging one."""
    start = local_midnight(starts_on, zone)
    deadline = local_midnight(ends_on + dt.timedelta(days=1), zone)
    start_utc = start.astimezone(dt.UTC)
    return start, deadline, start_utc, deadline.astimezone(dt.UTC) - start_utc


@functools.lru_cache(maxsize=4096)
def meets(
    starts_on: dt.date, ends_on: dt.date, since: dt.datetime, until: dt.datetime, zone: ZoneInfo
) -> bool:
    """Whether the days ``starts_on``–``ends_on`` (inclusive) meet the stretch of time from
    ``since`` to ``until`` (exclusive) in local time: a scheme that governed a unit only
    before a phase began, or only after it ended, never counted anything in it. Kept per
    arguments: a rebuild asks it of every unit's phases, mostly for the same few stretches."""
    last = until - dt.timedelta(microseconds=1)
    return starts_on <= local_date(last, zone) and local_date(since, zone) <= ends_on
