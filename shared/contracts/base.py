"""The base of every event payload, and the small value types payloads share."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, StringConstraints

Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
"""An opaque id chosen by the portal (``bk-bt``, a UUID, ...)."""

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]


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
