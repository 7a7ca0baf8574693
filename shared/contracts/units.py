"""Reference data about the union hierarchy: units, membership, moves, merges, closures,
renames and level changes. Each takes effect at its own ``occurred_at``."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from shared.contracts.base import CampaignDate, Identifier, ReferenceFact, Text


class UnitLevel(StrEnum):
    NATIONAL = "national"
    PROVINCE = "province"
    DISTRICT = "district"
    GRASSROOTS = "grassroots"


class _UnitFact(ReferenceFact):
    unit_id: Identifier


class UnitRegistered(_UnitFact):
    """A unit joins the hierarchy; ``parent_id`` is null only for the national level."""

    type = "unit.registered"

    name: Text
    parent_id: Identifier | None = None
    level: UnitLevel
    cluster: Identifier | None = Field(default=None, description="Emulation cluster (cụm thi đua)")

    @model_validator(mode="after")
    def _not_own_parent(self) -> UnitRegistered:
        if self.parent_id == self.unit_id:
            raise ValueError("a unit cannot be its own parent")
        return self


class UnitMembershipReported(_UnitFact):
    """The number of union members of the unit's whole subtree on a date (số đoàn viên)."""

    type = "unit.membership_reported"

    members: Annotated[int, Field(ge=0, le=20_000_000)]
    as_of: CampaignDate


class UnitMoved(_UnitFact):
    type = "unit.moved"

    new_parent_id: Identifier

    @model_validator(mode="after")
    def _not_own_parent(self) -> UnitMoved:
        if self.new_parent_id == self.unit_id:
            raise ValueError("a unit cannot be its own parent")
        return self


class UnitMerged(_UnitFact):
    """The unit is absorbed by ``into_unit_id``: its initiatives count for the target from now."""

    type = "unit.merged"

    into_unit_id: Identifier

    @model_validator(mode="after")
    def _not_into_itself(self) -> UnitMerged:
        if self.into_unit_id == self.unit_id:
            raise ValueError("a unit cannot be merged into itself")
        return self


class UnitClosed(_UnitFact):
    type = "unit.closed"

    reason: Text | None = None


class UnitRenamed(_UnitFact):
    """The unit takes a new name from ``occurred_at`` on (earlier figures keep the unit)."""

    type = "unit.renamed"

    name: Text


class UnitLevelChanged(_UnitFact):
    """The unit moves to another level of the hierarchy from ``occurred_at`` on."""

    type = "unit.level_changed"

    level: UnitLevel
