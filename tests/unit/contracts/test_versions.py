"""initiative.submitted v1 still arrives from portals and sits in the store: it upcasts to v2
with its free-text category mapped to a code, and v1 cannot use what only v2 allows."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from shared.contracts.initiatives import Category, InitiativeSubmitted, InitiativeUpdated
from shared.contracts.portal import ContractViolation, RejectionCode, decode_portal_event
from shared.contracts.previous import V1_SPELLINGS, category_of
from shared.contracts.recorded import RecordedEvent, StoredFact, TypedRecorded, decode_recorded
from shared.wording import VOCABULARIES

V1_DATA = {
    "initiative_id": "sk-1",
    "campaign_id": "1-trieu-sang-kien",
    "unit_id": "bk-cdcs-1",
    "title": "Khử khuẩn lớp học",
    "category": "Phòng chống dịch",
    "authors": [{"name": "Hoàng Thị B", "member_id": "dv-1", "author_type": "worker"}],
}


def refusal(event: dict[str, Any] | bytes) -> ContractViolation:
    with pytest.raises(ContractViolation) as raised:
        decode_portal_event(event)
    return raised.value


def portal(data: dict[str, Any], version: int) -> dict[str, Any]:
    return {
        "event_id": "e-1",
        "type": "initiative.submitted",
        "schema_version": version,
        "occurred_at": "2022-05-12T13:30:00+07:00",
        "source": "backan-portal",
        "data": data,
    }


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("covid19", Category.COVID19),
        ("Covid-19", Category.COVID19),
        ("PHÒNG, CHỐNG DỊCH COVID-19", Category.COVID19),
        ("phong chong covid 19", Category.COVID19),
        ("Năng suất", Category.PRODUCTIVITY),
        ("Labour productivity", Category.PRODUCTIVITY),
        ("Đổi mới tổ chức, hoạt động công đoàn", Category.UNION_WORK),
        ("Công tác công đoàn", Category.UNION_WORK),
        ("Phát triển kinh tế - xã hội", Category.SOCIO_ECONOMIC),
        ("admin_reform", Category.ADMIN_REFORM),
        ("Khác", Category.OTHER),
    ],
)
def test_known_v1_categories_become_their_code_without_text(text: str, code: Category) -> None:
    assert category_of(text) == (code, None)


def test_every_catalogue_name_and_v1_spelling_maps_to_its_own_code() -> None:
    for category in Category:
        names = [category.value, *V1_SPELLINGS.get(category, ())]
        names += [words.categories[category] for words in VOCABULARIES.values()]
        assert {category_of(name)[0] for name in names} == {category}, category


def test_anything_else_becomes_other_keeping_the_portal_s_words() -> None:
    assert category_of("Bảo vệ môi trường") == (Category.OTHER, "Bảo vệ môi trường")


def test_a_v1_portal_event_is_accepted_as_v2() -> None:
    decoded = decode_portal_event(json.dumps(portal(V1_DATA, 1)).encode())

    assert isinstance(decoded.data, InitiativeSubmitted)
    assert (decoded.data.category, decoded.data.category_text) == (Category.COVID19, None)
    assert decoded.data.authors[0].author_type == "worker"


def test_v1_cannot_name_public_servants_and_v2_cannot_send_free_text() -> None:
    civil = V1_DATA | {"authors": [{"name": "A", "author_type": "civil_servant"}]}
    v1 = refusal(portal(civil, 1))
    v2 = refusal(portal(V1_DATA, 2))

    assert v1.code == v2.code == RejectionCode.INVALID_DATA
    assert "data.authors.0.author_type" in v1.message
    assert "data.category" in v2.message


def test_an_event_without_schema_version_is_version_1_however_it_is_decoded() -> None:
    """Bytes take the one-pass decoder first; it once read a missing version as the current
    one (2), and let through what version 1 refuses."""
    civil = V1_DATA | {
        "category": "covid19",
        "authors": [{"name": "A", "author_type": "civil_servant"}],
    }
    event = portal(civil, 1)
    del event["schema_version"]

    for raw in (event, json.dumps(event).encode()):
        violation = refusal(raw)
        assert violation.code == RejectionCode.INVALID_DATA
        assert "data.authors.0.author_type" in violation.message


def test_a_stored_v1_event_loads_as_v2_whichever_way_it_is_read() -> None:
    at = dt.datetime(2022, 5, 12, 6, 30, tzinfo=dt.UTC)
    data = V1_DATA | {"category": "Sáng kiến xanh"}
    recorded = RecordedEvent(
        position=1,
        stream_id="initiative-sk-1",
        stream_version=1,
        event_id="e-1",
        type="initiative.submitted",
        schema_version=1,
        occurred_at=at,
        recorded_at=at,
        data=data,
        metadata={"source": "backan-portal"},
    )
    stored = StoredFact(1, "initiative-sk-1", 1, "initiative.submitted", 1, at, json.dumps(data))

    from_kafka = decode_recorded(recorded.to_wire())

    assert not isinstance(from_kafka, TypedRecorded), "an old version takes the upcasting path"
    for fact in (recorded.fact(), stored.fact(), from_kafka.fact()):
        assert isinstance(fact, InitiativeSubmitted)
        assert (fact.category, fact.category_text) == (Category.OTHER, "Sáng kiến xanh")


def test_an_update_gives_at_least_one_field() -> None:
    event = portal({"initiative_id": "sk-1", "title": None}, 1) | {"type": "initiative.updated"}
    refused = refusal(event)

    assert refused.code == RejectionCode.INVALID_DATA
    assert "at least one field" in refused.message
    assert InitiativeUpdated(initiative_id="sk-1", title="Mới").changes() == {"title": "Mới"}
