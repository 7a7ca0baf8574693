"""Portal events decode into typed facts, or fail with a code a portal developer can act on."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from services.samples.national import generate
from shared.contracts.campaigns import PlanSet
from shared.contracts.initiatives import InitiativeSubmitted
from shared.contracts.portal import ContractViolation, RejectionCode, decode_portal_event
from shared.contracts.recorded import NewEvent


def submitted(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": "portal-1:42",
        "type": "initiative.submitted",
        "schema_version": 1,
        "occurred_at": "2022-05-31T23:30:00+07:00",
        "source": "national-portal",
        "data": {
            "initiative_id": "sk-42",
            "campaign_id": "1-trieu-sang-kien",
            "unit_id": "bache-cdcs-ubnd",
            "title": "Số hoá hồ sơ một cửa",
            "category": "admin_reform",
            "authors": [{"name": "Nguyễn Văn A", "author_type": "union_official"}],
        },
    }
    event.update(overrides)
    return event


def rejection(raw: bytes | str | dict[str, Any], **kwargs: Any) -> ContractViolation:
    with pytest.raises(ContractViolation) as raised:
        decode_portal_event(raw, **kwargs)
    return raised.value


def test_a_valid_submission_decodes_to_its_typed_fact_keeping_the_instant() -> None:
    event = decode_portal_event(json.dumps(submitted()).encode())

    assert isinstance(event.data, InitiativeSubmitted)
    assert event.data.authors[0].name == "Nguyễn Văn A"
    assert event.occurred_at == dt.datetime(2022, 5, 31, 16, 30, tzinfo=dt.UTC)
    assert event.data.stream_id() == "initiative-sk-42"


def test_unknown_fields_are_ignored_so_portals_can_send_more_than_we_read() -> None:
    event = decode_portal_event(submitted(extra="x", data={**submitted()["data"], "x": 1}))

    assert isinstance(event.data, InitiativeSubmitted)


@pytest.mark.parametrize(
    ("raw", "code", "fragment"),
    [
        (b"{not json", RejectionCode.MALFORMED_JSON, "Expecting property name"),
        (b"\xff\xfe", RejectionCode.MALFORMED_JSON, ""),
        (submitted(event_id=""), RejectionCode.INVALID_ENVELOPE, "event_id"),
        (submitted(occurred_at="2022-05-31T23:30:00"), RejectionCode.NAIVE_TIMESTAMP, "offset"),
        (submitted(type="initiative.teleported"), RejectionCode.UNKNOWN_TYPE, "teleported"),
        (submitted(schema_version=7), RejectionCode.UNSUPPORTED_VERSION, "schema_version 7"),
        (
            submitted(data={"initiative_id": "sk-42"}),
            RejectionCode.INVALID_DATA,
            "data.title: Field required",
        ),
    ],
)
def test_each_kind_of_bad_input_is_rejected_with_its_code(
    raw: bytes | dict[str, Any], code: RejectionCode, fragment: str
) -> None:
    error = rejection(raw)

    assert error.code is code
    assert fragment in error.message


def test_a_missing_field_is_named_by_its_path() -> None:
    data = submitted()["data"]
    data["authors"] = [{"author_type": "member"}]

    error = rejection(submitted(data=data))

    assert error.code is RejectionCode.INVALID_DATA
    assert "data.authors.0.name: Field required" in error.message


def test_an_oversized_event_is_rejected_before_parsing() -> None:
    raw = json.dumps(submitted(data={**submitted()["data"], "summary": "x" * 5000})).encode()

    error = rejection(raw, max_bytes=4096)

    assert error.code is RejectionCode.OVERSIZED


def test_ratio_targets_keep_exact_decimals_through_the_store_payload() -> None:
    plan = decode_portal_event(
        {
            "event_id": "p-1",
            "type": "plan.set",
            "occurred_at": "2022-01-05T08:00:00+07:00",
            "source": "backan-portal",
            "data": {
                "campaign_id": "c",
                "unit_id": "bac-kan",
                "phases": [
                    {
                        "phase_id": "1",
                        "name": "I",
                        "starts_on": "2022-01-01",
                        "ends_on": "2022-05-31",
                    }
                ],
                "targets": [{"phase_id": "1", "kind": "ratio_of_members", "value": 0.05}],
            },
        }
    )
    stored = NewEvent.from_portal(plan)

    assert isinstance(plan.data, PlanSet)
    assert plan.data.targets[0].value == Decimal("0.05")
    assert PlanSet.model_validate(stored.data) == plan.data


@pytest.mark.parametrize(
    ("phases", "targets", "fragment"),
    [
        (
            [("1", "2022-01-01", "2022-05-31"), ("2", "2022-05-31", "2022-12-31")],
            [],
            "overlap",
        ),
        ([("1", "2022-06-01", "2022-05-31")], [], "ends before it starts"),
        (
            [("1", "2022-01-01", "2022-05-31")],
            [{"phase_id": "9", "kind": "count", "value": 3}],
            "unknown phase",
        ),
        (
            [("1", "2022-01-01", "2022-05-31")],
            [{"phase_id": "1", "kind": "count", "value": 3.5}],
            "whole number",
        ),
        (
            [("1", "2022-01-01", "2022-05-31")],
            [{"phase_id": "1", "kind": "ratio_of_members", "value": 5}],
            "fraction",
        ),
    ],
)
def test_inconsistent_plans_are_rejected(
    phases: list[tuple[str, str, str]], targets: list[dict[str, Any]], fragment: str
) -> None:
    event = {
        "event_id": "p-1",
        "type": "plan.set",
        "occurred_at": "2022-01-05T08:00:00+07:00",
        "source": "portal",
        "data": {
            "campaign_id": "c",
            "unit_id": "u",
            "phases": [
                {"phase_id": p, "name": p, "starts_on": start, "ends_on": end}
                for p, start, end in phases
            ],
            "targets": targets,
        },
    }

    error = rejection(event)

    assert error.code is RejectionCode.INVALID_DATA
    assert fragment in error.message


def test_bytes_decode_in_one_pass_to_what_the_step_by_step_decoding_gives() -> None:
    events = list(generate(0.001))
    seen = set()
    for event in events:
        one_pass = decode_portal_event(json.dumps(event, ensure_ascii=False).encode())
        step_by_step = decode_portal_event(event)  # a mapping takes the steps
        assert one_pass == step_by_step
        assert type(one_pass.data) is type(step_by_step.data)
        seen.add(one_pass.type)
    assert len(seen) >= 10
