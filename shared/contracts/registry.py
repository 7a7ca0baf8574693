"""Which payload model a ``(type, schema_version)`` pair maps to, and how old versions upcast.

A registry is a value, not a global, so a test can introduce a v2 of a type and prove that
v1 payloads stored earlier still load through the upcaster chain.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model

from shared.contracts.base import EventData
from shared.contracts.campaigns import CampaignDefined, PlanSet
from shared.contracts.initiatives import (
    InitiativeApproved,
    InitiativeRecognized,
    InitiativeRegistered,
    InitiativeRejected,
    InitiativeResubmitted,
    InitiativeRevisionRequested,
    InitiativeSubmitted,
    InitiativeUpdated,
    InitiativeWithdrawn,
)
from shared.contracts.previous import UPCASTERS
from shared.contracts.units import (
    UnitClosed,
    UnitLevelChanged,
    UnitMembershipReported,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
)

Payload = dict[str, Any]
Envelope = TypeVar("Envelope", bound=BaseModel)
Upcaster = Callable[[Payload], Payload]
"""Turns a payload of version N into version N + 1 of the same type."""


class UnknownEventType(LookupError):
    pass


class UnsupportedSchemaVersion(LookupError):
    pass


@dataclass(frozen=True)
class EventRegistry:
    models: Mapping[str, type[EventData]]
    upcasters: Mapping[tuple[str, int], Upcaster] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        models: Iterable[type[EventData]],
        upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
    ) -> EventRegistry:
        return cls({model.type: model for model in models}, dict(upcasters or {}))

    def model_for(self, event_type: str) -> type[EventData]:
        try:
            return self.models[event_type]
        except KeyError:
            raise UnknownEventType(f"unknown event type {event_type!r}") from None

    def upcast(self, event_type: str, schema_version: int, data: Payload) -> Payload:
        """Bring a payload of any supported version up to the current one."""
        current = self.model_for(event_type).schema_version
        if not 1 <= schema_version <= current:
            raise UnsupportedSchemaVersion(
                f"{event_type} schema_version {schema_version} is not supported "
                f"(current is {current})"
            )
        for version in range(schema_version, current):
            try:
                step = self.upcasters[(event_type, version)]
            except KeyError:
                raise UnsupportedSchemaVersion(
                    f"no upcaster for {event_type} from schema_version {version}"
                ) from None
            data = step(data)
        return data

    def load(self, event_type: str, schema_version: int, data: Payload) -> EventData:
        """Validate a payload of any supported version into the current model."""
        return self.model_for(event_type).model_validate(
            self.upcast(event_type, schema_version, data)
        )

    def load_json(self, event_type: str, schema_version: int, text: str | bytes) -> EventData:
        """:meth:`load` from JSON text: a payload at the current version is parsed straight
        into its model, without a dictionary in between."""
        model = self.model_for(event_type)
        if schema_version == model.schema_version:
            return model.model_validate_json(text)
        return self.load(event_type, schema_version, json.loads(text))


CURRENT = EventRegistry.of(
    [
        UnitRegistered,
        UnitMembershipReported,
        UnitMoved,
        UnitMerged,
        UnitClosed,
        UnitRenamed,
        UnitLevelChanged,
        CampaignDefined,
        PlanSet,
        InitiativeRegistered,
        InitiativeSubmitted,
        InitiativeRevisionRequested,
        InitiativeResubmitted,
        InitiativeApproved,
        InitiativeRejected,
        InitiativeRecognized,
        InitiativeWithdrawn,
        InitiativeUpdated,
    ],
    UPCASTERS,
)
"""Every event type the system knows today, at its current schema_version, with the
upcasters from earlier versions (``shared.contracts.previous``)."""


def _only(value: object) -> Any:
    """``Literal[value]`` for a value known at run time (the type checker cannot follow it)."""
    return Literal[value]


def typed_envelopes(
    base: type[Envelope], registry: EventRegistry = CURRENT
) -> TypeAdapter[Envelope]:
    """Envelopes of ``base``'s shape whose ``data`` is validated as the fact model of their
    ``type`` at its current version, in the same pass (pydantic, in Rust), picked by ``type``.

    Decoding once this way costs a half to three quarters of an envelope with a dictionary
    for ``data``, then the fact validated from that dictionary. Whatever it refuses (an older
    version, an unknown type, a broken rule) is for the caller's slower path, which says what
    is wrong.
    """
    declared = base.model_fields["schema_version"]

    def version(model: type[EventData]) -> tuple[Any, Any]:
        """The current version only; omitted, it means what ``base`` says it means."""
        current = model.schema_version
        omitted = declared.default if not declared.is_required() else ...
        return _only(current), current if omitted == current else ...

    envelopes = tuple(
        create_model(
            f"{model.__name__}{base.__name__}",
            __base__=base,
            type=(_only(model.type), ...),
            schema_version=version(model),
            data=(model, ...),
        )
        for model in registry.models.values()
    )
    any_of: Any = Annotated[Union[envelopes], Field(discriminator="type")]  # noqa: UP007
    # Only keys are worth pydantic-core's global string cache: an event's values (ids,
    # titles, times) are new with every event, so caching them was as slow, and it filled
    # the cache for good with strings no later event repeats.
    return TypeAdapter(any_of, config=ConfigDict(cache_strings="keys"))
