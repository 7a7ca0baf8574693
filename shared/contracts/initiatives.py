"""Facts about one initiative's life: registration, submission, review, recognition."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from shared.contracts.base import (
    CampaignDate,
    EventData,
    Identifier,
    LongText,
    Text,
    ValueObject,
    initiative_stream,
)

VND = Annotated[int, Field(ge=0, le=10**15)]


class AuthorType(StrEnum):
    """Who the author is. The v1 values keep their meaning; v2 adds the public servants the
    sources name, the largest group nationally (công chức, viên chức)."""

    MEMBER = "member"
    UNION_OFFICIAL = "union_official"
    WORKER = "worker"
    MANAGER = "manager"
    OTHER = "other"
    CIVIL_SERVANT = "civil_servant"
    PUBLIC_EMPLOYEE = "public_employee"


class Category(StrEnum):
    """The campaign's fields (lĩnh vực), a closed list; their names are in ``shared.wording``.
    Anything else is ``other``, with the portal's own words in ``category_text``."""

    COVID19 = "covid19"
    PRODUCTION = "production"
    PRODUCTIVITY = "productivity"
    UNION_WORK = "union_work"
    SOCIO_ECONOMIC = "socio_economic"
    ADMIN_REFORM = "admin_reform"
    DIGITAL = "digital"
    OTHER = "other"


class SolutionType(StrEnum):
    TECHNICAL = "technical"
    MANAGEMENT = "management"
    OPERATIONAL = "operational"
    TECHNOLOGY_APPLICATION = "technology_application"
    RESEARCH = "research"
    OTHER = "other"


class Author(ValueObject):
    """An author; names are personal data and never leave the read models' drill-down."""

    name: Text
    member_id: Identifier | None = None
    author_type: AuthorType = AuthorType.MEMBER


class AttachmentRef(ValueObject):
    """A reference to a file kept by the portal; the system never stores the file."""

    name: Text
    url: Annotated[str, Field(min_length=1, max_length=2_000)]


class _InitiativeFact(EventData):
    initiative_id: Identifier

    def stream_id(self) -> str:
        return initiative_stream(self.initiative_id)


class InitiativeRegistered(_InitiativeFact):
    """The author announced an initiative (đăng ký) before submitting its content."""

    type = "initiative.registered"

    campaign_id: Identifier
    unit_id: Identifier
    title: Text


Authors = Annotated[list[Author], Field(min_length=1, max_length=50)]
Attachments = Annotated[list[AttachmentRef], Field(max_length=50)]


class InitiativeSubmitted(_InitiativeFact):
    """The content was submitted (nộp); its date decides the phase it counts in."""

    type = "initiative.submitted"
    schema_version = 2

    campaign_id: Identifier
    unit_id: Identifier = Field(description="The grassroots unit the initiative counts for")
    title: Text
    summary: LongText = ""
    category: Category = Field(description="The field, a code of the closed list")
    category_text: Text | None = Field(
        default=None, description="The portal's own words for the field (with `other`)"
    )
    solution_type: SolutionType = SolutionType.OTHER
    authors: Authors
    estimated_benefit_vnd: VND | None = None
    applied_on: CampaignDate | None = None
    attachments: Attachments = []


class InitiativeUpdated(_InitiativeFact):
    """Details corrected while under review or sent back (chỉnh sửa thông tin); only the
    fields given change. Never a status change, never another phase or unit."""

    type = "initiative.updated"

    title: Text | None = None
    summary: LongText | None = None
    category: Category | None = None
    category_text: Text | None = None
    solution_type: SolutionType | None = None
    authors: Authors | None = None
    estimated_benefit_vnd: VND | None = None
    applied_on: CampaignDate | None = None
    attachments: Attachments | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> InitiativeUpdated:
        if not self.changes():
            raise ValueError("an update gives at least one field to change")
        return self

    def changes(self) -> dict[str, object]:
        """The fields given (null is "not given"), by name."""
        return {
            name: value
            for name in type(self).model_fields
            if name != "initiative_id" and (value := getattr(self, name)) is not None
        }


class InitiativeRevisionRequested(_InitiativeFact):
    type = "initiative.revision_requested"

    reason: Text | None = None


class InitiativeResubmitted(_InitiativeFact):
    """The author edited and resubmitted; only the changed content fields are given."""

    type = "initiative.resubmitted"

    title: Text | None = None
    summary: LongText | None = None


class InitiativeApproved(_InitiativeFact):
    """Found valid (hợp lệ)."""

    type = "initiative.approved"


class InitiativeRejected(_InitiativeFact):
    type = "initiative.rejected"

    reason: Text


class InitiativeRecognized(_InitiativeFact):
    """An approved initiative was recognised (công nhận) with an award."""

    type = "initiative.recognized"

    award_level: Text
    benefit_vnd: VND | None = None


class InitiativeWithdrawn(_InitiativeFact):
    type = "initiative.withdrawn"

    reason: Text | None = None
