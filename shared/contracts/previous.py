"""Earlier versions of event payloads, and the upcasters that bring them to the current one.

Kept apart from the current contracts so those read as what portals send today; stored
events and portals still on an older version go through :data:`UPCASTERS`.

``initiative.submitted`` v1 → v2: ``category`` was free text and becomes a code of
:class:`Category`. A v1 value matches a code when, folded (no diacritics, case or
punctuation), it equals the code, the category's Vietnamese or English name in
``shared.wording``, or one of the spellings in :data:`V1_SPELLINGS`; anything else becomes
``other`` with the original words in ``category_text``. ``author_type`` keeps its v1 values,
which v2 still has, so v1 cannot name the public servants v2 adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field

from shared.contracts.base import (
    CampaignDate,
    EventData,
    Identifier,
    LongText,
    Text,
    ValueObject,
    initiative_stream,
)
from shared.contracts.initiatives import VND, Attachments, Category, SolutionType
from shared.contracts.initiatives import InitiativeSubmitted as SubmittedV2
from shared.text import fold_diacritics
from shared.wording import VOCABULARIES

Payload = dict[str, Any]


# The v1 models keep their v1 class names, so the published v1 schema stays as it was.


class AuthorType(StrEnum):
    MEMBER = "member"
    UNION_OFFICIAL = "union_official"
    WORKER = "worker"
    MANAGER = "manager"
    OTHER = "other"


class Author(ValueObject):
    """An author; names are personal data and never leave the read models' drill-down."""

    name: Text
    member_id: Identifier | None = None
    author_type: AuthorType = AuthorType.MEMBER


class InitiativeSubmitted(EventData):
    """The content was submitted (nộp); its date decides the phase it counts in."""

    type = "initiative.submitted"

    initiative_id: Identifier
    campaign_id: Identifier
    unit_id: Identifier = Field(description="The grassroots unit the initiative counts for")
    title: Text
    summary: LongText = ""
    category: Text
    solution_type: SolutionType = SolutionType.OTHER
    authors: Annotated[list[Author], Field(min_length=1, max_length=50)]
    estimated_benefit_vnd: VND | None = None
    applied_on: CampaignDate | None = None
    attachments: Attachments = []

    def stream_id(self) -> str:
        return initiative_stream(self.initiative_id)


V1_SPELLINGS: Mapping[Category, tuple[str, ...]] = {
    Category.COVID19: ("Covid-19", "Covid", "Phòng, chống Covid-19", "Phòng chống dịch"),
    Category.PRODUCTION: ("Sản xuất, kinh doanh", "Sản xuất kinh doanh"),
    Category.PRODUCTIVITY: ("Năng suất lao động", "Năng suất"),
    Category.UNION_WORK: ("Công tác công đoàn", "Hoạt động công đoàn", "Union work"),
    Category.SOCIO_ECONOMIC: ("Kinh tế – xã hội", "Phát triển kinh tế - xã hội bền vững"),
    Category.ADMIN_REFORM: ("Cải cách", "Cải cách thủ tục hành chính"),
    Category.DIGITAL: ("Digital", "Số hoá"),
    Category.OTHER: ("Khác", "Other"),
}
"""Spellings v1 portals used besides the codes and the catalogue's names (the dashboard's
former labels among them). Frozen: a v1 event must always upcast to the same code, so a
catalogue name that changes keeps its old spelling here."""


def category_key(text: str) -> str:
    """Folded letters and digits only: "Phòng, chống Covid-19" → "phongchongcovid19"."""
    return "".join(char for char in fold_diacritics(text) if char.isalnum())


def _known_spellings() -> dict[str, Category]:
    known: dict[str, Category] = {}
    for category in Category:
        names = [category.value, *V1_SPELLINGS.get(category, ())]
        names += [words.categories[category] for words in VOCABULARIES.values()]
        known.update((category_key(name), category) for name in names)
    return known


V1_CATEGORIES = _known_spellings()


def category_of(text: str) -> tuple[Category, str | None]:
    """The code a v1 category names, and the text kept beside it (for ``other`` only)."""
    found = V1_CATEGORIES.get(category_key(text))
    if found is None or found is Category.OTHER:
        return Category.OTHER, None if found else text
    return found, None


def submitted_v1_to_v2(data: Payload) -> Payload:
    """Validate as v1 (a v1 event cannot use what only v2 allows), then recode the category."""
    v1 = InitiativeSubmitted.model_validate(data)
    category, text = category_of(v1.category)
    upgraded = v1.model_dump(mode="json") | {"category": category.value, "category_text": text}
    return SubmittedV2.model_validate(upgraded).model_dump(mode="json")


UPCASTERS = {(InitiativeSubmitted.type, 1): submitted_v1_to_v2}
"""``(type, version N) → upcaster to N + 1`` for every type that has moved on."""

PREVIOUS: tuple[type[EventData], ...] = (InitiativeSubmitted,)
"""Older versions portals may still send, whose JSON Schemas stay published."""
