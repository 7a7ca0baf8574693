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


HIERARCHY_STREAM = "hierarchy"
"""Structural unit facts share one stream: the tree's invariants (no cycles, only open
units receive children) span units, so the whole hierarchy is one consistency boundary."""


def unit_stream(unit_id: str) -> str:
    return f"unit-{unit_id}"


def campaign_stream(campaign_id: str) -> str:
    return f"campaign-{campaign_id}"
