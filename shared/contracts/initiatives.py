"""Facts about one initiative's life: registration, submission, review, recognition."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

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

VND = Annotated[int, Field(ge=0, le=10**15)]


class AuthorType(StrEnum):
    MEMBER = "member"
    UNION_OFFICIAL = "union_official"
    WORKER = "worker"
    MANAGER = "manager"
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


class InitiativeSubmitted(_InitiativeFact):
    """The content was submitted (nộp); its date decides the phase it counts in."""

    type = "initiative.submitted"

    campaign_id: Identifier
    unit_id: Identifier = Field(description="The grassroots unit the initiative counts for")
    title: Text
    summary: LongText = ""
    category: Text
    solution_type: SolutionType = SolutionType.OTHER
    authors: Annotated[list[Author], Field(min_length=1, max_length=50)]
    estimated_benefit_vnd: VND | None = None
    applied_on: CampaignDate | None = None
    attachments: Annotated[list[AttachmentRef], Field(max_length=50)] = []


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
