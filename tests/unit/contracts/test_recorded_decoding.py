"""A recorded event from Kafka is decoded once, straight into its typed fact, and decodes to
the same fact and place as the envelope-then-fact path it replaces."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from shared.contracts.initiatives import InitiativeSubmitted
from shared.contracts.recorded import RecordedEvent, TypedRecorded, decode_recorded

AT = dt.datetime(2022, 5, 12, 6, 30, tzinfo=dt.UTC)


def recorded(**changes: Any) -> RecordedEvent:
    fields: dict[str, Any] = {
        "position": 7,
        "stream_id": "initiative-sk-1",
        "stream_version": 2,
        "event_id": "e-1",
        "type": "initiative.submitted",
        "schema_version": 2,
        "occurred_at": AT,
        "recorded_at": AT,
        "data": {
            "initiative_id": "sk-1",
            "campaign_id": "1-trieu-sang-kien",
            "unit_id": "bk-cdcs-1",
            "title": "Khử khuẩn lớp học",
            "category": "covid19",
            "authors": [{"name": "Hoàng Thị B", "author_type": "member"}],
        },
        "metadata": {"source": "backan-portal"},
    }
    return RecordedEvent.model_validate(fields | changes)


def test_a_current_version_is_decoded_once_into_the_same_fact_and_place() -> None:
    event = recorded()

    decoded = decode_recorded(event.to_wire())

    assert isinstance(decoded, TypedRecorded)
    assert isinstance(decoded.fact(), InitiativeSubmitted)
    assert decoded.fact() == event.fact()
    assert (decoded.position, decoded.stream_id, decoded.stream_version, decoded.event_id) == (
        7,
        "initiative-sk-1",
        2,
        "e-1",
    )
    assert (decoded.occurred_at, decoded.recorded_at) == (AT, AT)


def test_a_payload_its_model_refuses_still_arrives_for_the_projection_to_quarantine() -> None:
    event = recorded(data={"initiative_id": "sk-1"})

    decoded = decode_recorded(event.to_wire())

    assert not isinstance(decoded, TypedRecorded)
    with pytest.raises(ValidationError):
        decoded.fact()


def test_a_type_this_code_does_not_know_arrives_as_a_recorded_event() -> None:
    decoded = decode_recorded(recorded(type="initiative.celebrated", data={}).to_wire())

    assert not isinstance(decoded, TypedRecorded)
    assert decoded.type == "initiative.celebrated"


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"{}", recorded().to_wire().replace(b'"metadata"', b'"meta"')],
    ids=["not JSON", "no fields", "no metadata"],
)
def test_what_is_not_a_recorded_event_is_refused_as_before(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        decode_recorded(raw)
