"""When a portal fact may have happened: not before the campaigns this system serves, and not
later than ingest's own clock allows.

A fact dated 9999 or 0001 is a typo or a broken portal clock, never a fact; accepted, it would
be counted on a day no dashboard shows (a phase judged a thousand years late). The bounds are
the deployment's (``INITIATIVES_INGEST_EARLIEST_OCCURRED_AT``, ``..._CLOCK_SKEW_SECONDS``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.clock import Clock, utc_now
from shared.contracts.base import EARLIEST_INSTANT
from shared.contracts.portal import ContractViolation, RejectionCode

CLOCK_SKEW = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class OccurredWithin:
    earliest: dt.datetime = EARLIEST_INSTANT
    skew: dt.timedelta = CLOCK_SKEW
    """How far ahead of ingest's clock a portal's clock may run."""
    clock: Clock = utc_now

    def check(self, at: dt.datetime) -> None:
        """Raise :class:`ContractViolation` unless ``at`` lies within the bounds."""
        if at < self.earliest:
            raise ContractViolation(
                RejectionCode.OCCURRED_TOO_EARLY,
                f"occurred_at {at.isoformat()} is before {self.earliest.isoformat()}, the "
                "earliest instant this deployment accepts: check the portal's date",
            )
        latest = self.clock() + self.skew
        if at > latest:
            raise ContractViolation(
                RejectionCode.OCCURRED_IN_FUTURE,
                f"occurred_at {at.isoformat()} is later than now plus "
                f"{self.skew.total_seconds():g} s of allowed clock skew "
                f"({latest.astimezone(dt.UTC).isoformat(timespec='seconds')}): "
                "check the portal's clock and time zone",
            )
