"""Events as the event store records them and as ``initiatives.events.v1`` carries them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError
from pydantic_core import to_json

from shared.contracts.base import EventData
from shared.contracts.portal import PortalEvent
from shared.contracts.registry import CURRENT, EventRegistry, Payload, typed_envelopes


class EventMetadata(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    source: str
    correlation_id: str | None = None
    causation_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended; the store assigns position and stream version.

    A plain dataclass, not a model: its parts come validated (a decoded fact, its envelope),
    and ingest builds one per event, where a model's validation cost as much as the fact's.
    """

    stream_id: str
    event_id: str
    type: str
    schema_version: int
    occurred_at: dt.datetime
    data: Payload
    metadata: EventMetadata

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError(f"event {self.event_id!r}: occurred_at must carry a UTC offset")

    def recorded_wire(self, position: int, stream_version: int, recorded_at: dt.datetime) -> bytes:
        """What the relay sends for this event once stored at ``position`` (times in UTC, as
        they are read back)."""
        return wire_of(
            (
                position,
                self.stream_id,
                stream_version,
                self.event_id,
                self.type,
                self.schema_version,
                self.occurred_at.astimezone(dt.UTC),
                recorded_at.astimezone(dt.UTC),
                self.data,
                self.metadata.__dict__,
            )
        )

    @classmethod
    def from_fact(
        cls,
        fact: EventData,
        *,
        event_id: str,
        occurred_at: dt.datetime,
        metadata: EventMetadata,
    ) -> NewEvent:
        return cls(
            stream_id=fact.stream_id(),
            event_id=event_id,
            type=fact.type,
            schema_version=fact.schema_version,
            occurred_at=occurred_at,
            data=fact.model_dump(mode="json"),
            metadata=metadata,
        )

    @classmethod
    def from_portal(cls, event: PortalEvent) -> NewEvent:
        return cls.from_fact(
            event.data,
            event_id=event.event_id,
            occurred_at=event.occurred_at,
            metadata=EventMetadata(
                source=event.source,
                correlation_id=event.correlation_id or event.event_id,
            ),
        )


class RecordedEvent(BaseModel):
    """A stored event. ``position`` orders all events; ``stream_version`` orders one stream."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    position: int
    stream_id: str
    stream_version: int
    event_id: str
    type: str
    schema_version: int
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    data: Payload
    metadata: EventMetadata

    def fact(self, registry: EventRegistry = CURRENT) -> EventData:
        """The typed payload at the current schema version (old versions are upcast)."""
        return registry.load(self.type, self.schema_version, self.data)

    def to_wire(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_wire(cls, raw: bytes | str | dict[str, Any]) -> RecordedEvent:
        if isinstance(raw, dict):
            return cls.model_validate(raw)
        return cls.model_validate_json(raw)


class TypedRecorded(RecordedEvent):
    """A recorded event whose payload was validated as its fact model in the same pass as the
    envelope (see :func:`decode_recorded`)."""

    data: EventData  # type: ignore[assignment]  # each subclass narrows it to one fact model

    def fact(self, registry: EventRegistry = CURRENT) -> EventData:
        return self.data


_CURRENT_RECORDED = typed_envelopes(TypedRecorded)


def decode_recorded(raw: bytes) -> RecordedEvent:
    """A recorded event from the wire, decoded once: at its type's current version straight
    into the typed fact; otherwise (an older version to upcast, a type this code does not
    know, a payload its model refuses) as a ``RecordedEvent``, whose ``fact()`` upcasts or
    says what is wrong when the projection asks. Raises ``ValidationError`` for anything that
    is not a recorded event."""
    try:
        return _CURRENT_RECORDED.validate_json(raw)
    except ValidationError:
        return RecordedEvent.from_wire(raw)


_RECORD_FIELDS = tuple(RecordedEvent.model_fields)
_METADATA_FIELDS = tuple(EventMetadata.model_fields)


def wire_of(values: Sequence[Any]) -> bytes:
    """What ``to_wire()`` gives for a ``RecordedEvent`` of these field values (in the order of
    its fields; ``metadata`` as a mapping), up to the order of keys in ``data``, without building
    and validating one: the relay sends every event once, and each was validated when appended."""
    fields = dict(zip(_RECORD_FIELDS, values, strict=True))
    metadata: Mapping[str, Any] = fields["metadata"]
    fields["metadata"] = {name: metadata.get(name) for name in _METADATA_FIELDS}
    return to_json(fields)


class StoredFact(NamedTuple):
    """A stored event's payload and place, without metadata, built without validation.

    For readers of millions of events that were validated when appended (a rebuild): a
    ``RecordedEvent`` costs more to build than the projection spends on the event.
    """

    position: int
    stream_id: str
    stream_version: int
    type: str
    schema_version: int
    occurred_at: dt.datetime
    data: str
    """The payload as JSON text, parsed only by the model that validates it."""

    def fact(self, registry: EventRegistry = CURRENT) -> EventData:
        """The typed payload at the current schema version (old versions are upcast)."""
        return registry.load_json(self.type, self.schema_version, self.data)
