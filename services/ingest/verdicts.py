"""What ingest answers for each portal event it was given."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class VerdictStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    PARKED = "parked"
    """Refers to a unit, campaign or initiative not known yet; retried for a while."""


class Verdict(NamedTuple):
    """One per portal event (a named tuple: cheaper to build than a frozen dataclass)."""

    status: VerdictStatus
    event_id: str | None = None
    type: str | None = None
    code: str | None = None
    message: str | None = None
    position: int | None = None
    correlation_id: str | None = None
