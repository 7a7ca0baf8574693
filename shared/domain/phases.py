"""Phases are windows of local dates; instants are read in the campaign's time zone.

"Until the end of May 2022" in Hà Nội means up to 31 May 23:59:59 at UTC+7, so an instant is
first turned into a local date and only then compared with inclusive phase bounds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
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


def phase_start_instant(phase: PhaseSpec, zone: ZoneInfo) -> dt.datetime:
    """The first instant of the phase: local midnight at ``starts_on``."""
    return local_midnight(phase.starts_on, zone)


def phase_end_instant(phase: PhaseSpec, zone: ZoneInfo) -> dt.datetime:
    """The instant the phase is over (exclusive): local midnight after ``ends_on``.

    A target not reached by this instant is missed.
    """
    return local_midnight(phase.ends_on + dt.timedelta(days=1), zone)


def phase_running(phase: PhaseSpec, zone: ZoneInfo, at: dt.datetime) -> bool:
    """Whether ``at`` falls in the phase: from its first instant up to, not including, its end.

    News about a phase (a threshold reached, a pace falling behind) is news only then.
    """
    return phase_start_instant(phase, zone) <= require_aware(at) < phase_end_instant(phase, zone)


def elapsed_share(phase: PhaseSpec, zone: ZoneInfo, now: dt.datetime) -> float:
    """How much of the phase has passed at ``now``, in [0, 1]; used to judge the pace."""
    # Subtracting datetimes that share a tzinfo ignores DST offsets, so compare in UTC.
    start = phase_start_instant(phase, zone).astimezone(dt.UTC)
    end = phase_end_instant(phase, zone).astimezone(dt.UTC)
    share = (require_aware(now).astimezone(dt.UTC) - start) / (end - start)
    return min(1.0, max(0.0, share))


def meets(
    starts_on: dt.date, ends_on: dt.date, since: dt.datetime, until: dt.datetime, zone: ZoneInfo
) -> bool:
    """Whether the days ``starts_on``–``ends_on`` (inclusive) meet the stretch of time from
    ``since`` to ``until`` (exclusive) in local time: a scheme that governed a unit only
    before a phase began, or only after it ended, never counted anything in it."""
    last = until - dt.timedelta(microseconds=1)
    return starts_on <= local_date(last, zone) and local_date(since, zone) <= ends_on
