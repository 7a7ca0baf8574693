"""What ingest answers for each portal event it was given."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VerdictStatus(StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    PARKED = "parked"
    """Refers to a unit, campaign or initiative not known yet; retried for a while."""


@dataclass(frozen=True)
class Verdict:
    status: VerdictStatus
    event_id: str | None = None
    type: str | None = None
    code: str | None = None
    message: str | None = None
    position: int | None = None
    correlation_id: str | None = None
