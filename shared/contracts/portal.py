"""The envelope upstream portals send, and its strict decoding into typed facts.

Every rejection carries a stable ``code`` a portal developer can branch on and a message
a person can act on; the raw bytes are never needed to understand why.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from shared.contracts.base import NO_CONTROL, EventData, Identifier, Text
from shared.contracts.registry import (
    CURRENT,
    EventRegistry,
    UnknownEventType,
    UnsupportedSchemaVersion,
    typed_envelopes,
)

MAX_EVENT_BYTES = 256 * 1024


class RejectionCode(StrEnum):
    OVERSIZED = "oversized"
    MALFORMED_JSON = "malformed_json"
    INVALID_ENVELOPE = "invalid_envelope"
    NAIVE_TIMESTAMP = "naive_timestamp"
    UNKNOWN_TYPE = "unknown_type"
    UNSUPPORTED_VERSION = "unsupported_version"
    INVALID_DATA = "invalid_data"
    OCCURRED_TOO_EARLY = "occurred_too_early"
    OCCURRED_IN_FUTURE = "occurred_in_future"


class ContractViolation(ValueError):
    """A portal event that can never become valid as sent."""

    def __init__(self, code: RejectionCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def _not_a_number(value: object) -> object:
    """A number would be read as seconds since 1970 in UTC: a portal that sends one almost
    certainly meant something else (milliseconds, a local time), so it is refused."""
    if isinstance(value, int | float):
        raise ValueError(
            "occurred_at must be an ISO 8601 date-time with a UTC offset, not a number"
        )
    return value


class PortalEnvelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_id: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_CONTROL)] = Field(
        description="Unique per fact; the idempotency key"
    )
    type: Annotated[str, Field(min_length=1, max_length=100, pattern=NO_CONTROL)]
    schema_version: Annotated[int, Field(ge=1, le=1000)] = 1
    occurred_at: Annotated[AwareDatetime, BeforeValidator(_not_a_number)] = Field(
        description="When it happened, with a UTC offset (ISO 8601). Ingest refuses instants "
        "before 2000-01-01 (occurred_too_early) and after its own clock plus a few minutes "
        "(occurred_in_future); both bounds are settings of the deployment."
    )
    source: Text = Field(description="The portal that sends the fact")
    correlation_id: Identifier | None = Field(
        default=None, description="Ties related facts together; defaults to event_id"
    )
    data: dict[str, Any]


class PortalEvent(NamedTuple):
    """A decoded portal fact: the envelope's metadata and the typed, current-version payload.

    A named tuple: ingest builds one per event, and a frozen dataclass costs three times as
    much to build."""

    event_id: str
    occurred_at: AwareDatetime
    source: str
    correlation_id: str | None
    data: EventData

    @property
    def type(self) -> str:
        return self.data.type


def decode_portal_event(
    raw: bytes | str | Mapping[str, Any],
    registry: EventRegistry = CURRENT,
    max_bytes: int = MAX_EVENT_BYTES,
) -> PortalEvent:
    """Decode one portal event or raise :class:`ContractViolation` saying why not."""
    if registry is CURRENT and isinstance(raw, bytes) and len(raw) <= max_bytes:
        try:
            typed = _CURRENT_ENVELOPES.validate_json(raw)
        except ValidationError:
            pass  # the steps below say which rule it breaks
        else:
            return PortalEvent(
                typed.event_id, typed.occurred_at, typed.source, typed.correlation_id, typed.data
            )
    try:
        envelope = _envelope(raw, max_bytes)
    except ValidationError as error:
        if any(item["type"] == "timezone_aware" for item in error.errors()):
            raise ContractViolation(
                RejectionCode.NAIVE_TIMESTAMP,
                "occurred_at must carry a UTC offset, e.g. 2022-05-31T23:30:00+07:00",
            ) from None
        raise ContractViolation(RejectionCode.INVALID_ENVELOPE, describe(error)) from None
    try:
        data = registry.load(envelope.type, envelope.schema_version, envelope.data)
    except UnknownEventType as error:
        raise ContractViolation(RejectionCode.UNKNOWN_TYPE, str(error)) from None
    except UnsupportedSchemaVersion as error:
        raise ContractViolation(RejectionCode.UNSUPPORTED_VERSION, str(error)) from None
    except ValidationError as error:
        raise ContractViolation(
            RejectionCode.INVALID_DATA, f"{envelope.type}: {describe(error, 'data')}"
        ) from None
    return PortalEvent(
        event_id=envelope.event_id,
        occurred_at=envelope.occurred_at,
        source=envelope.source,
        correlation_id=envelope.correlation_id,
        data=data,
    )


class _TypedEnvelope(PortalEnvelope):
    data: EventData  # type: ignore[assignment]  # each subclass narrows it to one fact model


_CURRENT_ENVELOPES = typed_envelopes(_TypedEnvelope)
"""A valid event of any current type in one pass (pydantic, in Rust), picked by ``type``.
Anything it refuses (an older version, a broken rule) is decoded step by step below, which
says what is wrong, as before."""


def _envelope(raw: bytes | str | Mapping[str, Any], max_bytes: int) -> PortalEnvelope:
    """Parse and validate in one pass (pydantic's parser, in Rust). Input it calls invalid JSON
    goes through ``json`` as well, whose messages portal developers know, and which is more
    lenient (``NaN``, lone surrogates), as it was before."""
    if not isinstance(raw, bytes | str):
        return PortalEnvelope.model_validate(raw)
    size = len(raw.encode() if isinstance(raw, str) else raw)
    if size > max_bytes:
        raise ContractViolation(
            RejectionCode.OVERSIZED, f"event is {size} bytes; the limit is {max_bytes}"
        )
    try:
        return PortalEnvelope.model_validate_json(raw)
    except ValidationError as error:
        if all(item["type"] != "json_invalid" for item in error.errors()):
            raise
    return PortalEnvelope.model_validate(_parse_json(raw))


def _parse_json(raw: bytes | str) -> Any:
    """JSON as portals must send it: UTF-8 (``json`` alone would also guess UTF-16 or -32)."""
    try:
        return json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ContractViolation(RejectionCode.MALFORMED_JSON, str(error)) from None
    except RecursionError:
        raise ContractViolation(
            RejectionCode.MALFORMED_JSON, "the JSON is nested too deeply to be an event"
        ) from None


def describe(error: ValidationError, *prefix: str) -> str:
    """One clause per problem, each naming the field path, e.g. ``data.authors.0.name``."""
    return "; ".join(
        f"{'.'.join((*prefix, *(str(part) for part in item['loc']))) or '(root)'}: {item['msg']}"
        for item in error.errors()
    )
