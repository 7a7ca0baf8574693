"""The base of every event payload, and the small value types payloads share."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
"""No control character at all: ids and names are one line of printable text."""
NO_CONTROL_BUT_LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
"""Tabs and line breaks allowed (a description has paragraphs); no other control character,
in particular no NUL, which PostgreSQL's text and jsonb cannot hold."""

Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=NO_CONTROL),
]
"""An opaque id chosen by the portal (``bk-bt``, a UUID, ...)."""

Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500, pattern=NO_CONTROL),
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=20_000, pattern=NO_CONTROL_BUT_LINES)
]

EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2099, 12, 31)
EARLIEST_INSTANT = dt.datetime.combine(EARLIEST_DATE, dt.time(), tzinfo=dt.UTC)
LATEST_INSTANT = dt.datetime.combine(LATEST_DATE + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
"""The same era as instants: from the first moment of the first date to the end of the last."""
CampaignDate = Annotated[
    dt.date,
    Field(
        ge=EARLIEST_DATE,
        le=LATEST_DATE,
        json_schema_extra={
            "formatMinimum": EARLIEST_DATE.isoformat(),
            "formatMaximum": LATEST_DATE.isoformat(),
        },
    ),
]
"""A calendar date a campaign can mean (phase bounds, a membership count, an application):
a year outside 2000–2099 is a typo, and 9999-12-31 has no day after it to end a phase."""


class EventData(BaseModel):
    """A fact's payload. Unknown fields are ignored (tolerant reader); known ones are strict."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)

    type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    def stream_id(self) -> str:
        """The event-store stream this fact belongs to (its consistency boundary)."""
        raise NotImplementedError


class ValueObject(BaseModel):
    """A nested, immutable part of a payload."""

    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)


def initiative_stream(initiative_id: str) -> str:
    return f"initiative-{initiative_id}"


REFERENCE_STREAM = "reference"
"""Every reference fact (units, membership, campaigns, plans) goes to this one stream.

The hierarchy's invariants span units (no cycles; only open units take children), a plan
needs its campaign and unit, and every service needs the whole reference set at start-up:
one stream, appended with an expected version, gives all of that without locks, and is
read in one go. Reference changes are rare and batched, so one stream costs no throughput.
"""


class ReferenceFact(EventData):
    """A fact about the campaign's reference data rather than about one initiative."""

    def stream_id(self) -> str:
        return REFERENCE_STREAM
