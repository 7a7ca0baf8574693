"""Campaigns and the plans (phases and targets) units set for them."""

from __future__ import annotations

import itertools
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from shared.contracts.base import CampaignDate, Identifier, ReferenceFact, Text, ValueObject

DEFAULT_TIME_ZONE = "Asia/Ho_Chi_Minh"


class CampaignDefined(ReferenceFact):
    """A campaign and the time zone in which its dates are read."""

    type = "campaign.defined"

    campaign_id: Identifier
    name: Text
    time_zone: str = DEFAULT_TIME_ZONE

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {value!r}") from error
        return value


class TargetKind(StrEnum):
    COUNT = "count"
    RATIO_OF_MEMBERS = "ratio_of_members"


class Metric(StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"


class AppliesTo(StrEnum):
    SELF = "self"
    CHILDREN = "children"
    DESCENDANTS = "descendants"


class PhaseSpec(ValueObject):
    """A phase window in local dates; both ends are inclusive days."""

    phase_id: Identifier
    name: Text
    starts_on: CampaignDate
    ends_on: CampaignDate

    @model_validator(mode="after")
    def _ordered(self) -> PhaseSpec:
        if self.ends_on < self.starts_on:
            raise ValueError(f"phase {self.phase_id!r} ends before it starts")
        return self


class TargetSpec(ValueObject):
    """A target for one phase (or the whole campaign when ``phase_id`` is null).

    ``count`` takes a whole number of initiatives; ``ratio_of_members`` a fraction of the
    unit's members (0.05 means 5 %), turned into a count by rounding up.
    """

    phase_id: Identifier | None = None
    kind: TargetKind
    value: Annotated[Decimal, Field(gt=0, le=10_000_000)]
    metric: Metric = Metric.SUBMITTED
    applies_to: AppliesTo = AppliesTo.SELF

    @model_validator(mode="after")
    def _value_fits_kind(self) -> TargetSpec:
        if self.kind is TargetKind.COUNT and self.value != self.value.to_integral_value():
            raise ValueError("a count target must be a whole number")
        if self.kind is TargetKind.RATIO_OF_MEMBERS and self.value > 1:
            raise ValueError("a ratio target is a fraction of members between 0 and 1")
        return self


class PlanSet(ReferenceFact):
    """A unit's plan for a campaign; a later plan replaces the earlier one as a whole."""

    type = "plan.set"

    campaign_id: Identifier
    unit_id: Identifier
    phases: Annotated[list[PhaseSpec], Field(min_length=1, max_length=24)]
    targets: Annotated[list[TargetSpec], Field(max_length=200)] = []

    @model_validator(mode="after")
    def _consistent(self) -> PlanSet:
        ids = [phase.phase_id for phase in self.phases]
        if len(set(ids)) != len(ids):
            raise ValueError("phase ids must be unique within a plan")
        ordered = sorted(self.phases, key=lambda phase: phase.starts_on)
        for earlier, later in itertools.pairwise(ordered):
            if later.starts_on <= earlier.ends_on:
                raise ValueError(f"phases {earlier.phase_id!r} and {later.phase_id!r} overlap")
        seen: set[tuple[str | None, AppliesTo]] = set()
        for target in self.targets:
            if target.phase_id is not None and target.phase_id not in ids:
                raise ValueError(f"target names unknown phase {target.phase_id!r}")
            key = (target.phase_id, target.applies_to)
            if key in seen:
                raise ValueError(
                    f"two targets for phase {target.phase_id!r} applying to {target.applies_to}"
                )
            seen.add(key)
        return self
