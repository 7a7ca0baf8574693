"""Small builders for facts, hierarchies and plans used across the domain tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo

from shared.contracts.base import EventData
from shared.contracts.campaigns import (
    AppliesTo,
    CampaignDefined,
    Metric,
    PhaseSpec,
    PlanSet,
    TargetKind,
    TargetSpec,
)
from shared.contracts.initiatives import (
    Author,
    AuthorType,
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
from shared.contracts.units import UnitLevel, UnitMembershipReported, UnitRegistered
from shared.domain.campaign import Campaign
from shared.domain.hierarchy import Hierarchy

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CAMPAIGN = Campaign("1m", "1 triệu sáng kiến", VN)
AT = dt.datetime(2022, 5, 12, 13, 30, tzinfo=VN)


def registered(iid: str = "i-1", campaign: str = "1m", unit: str = "u") -> InitiativeRegistered:
    return InitiativeRegistered(
        initiative_id=iid, campaign_id=campaign, unit_id=unit, title="Ý tưởng"
    )


def submitted(
    iid: str = "i-1",
    campaign: str = "1m",
    unit: str = "u",
    authors: Iterable[AuthorType] = (AuthorType.MEMBER,),
) -> InitiativeSubmitted:
    return InitiativeSubmitted(
        initiative_id=iid,
        campaign_id=campaign,
        unit_id=unit,
        title="Sáng kiến khử khuẩn",
        category="covid19",
        authors=[Author(name=f"Tác giả {n}", author_type=t) for n, t in enumerate(authors)],
    )


FACTS: dict[str, Callable[[str], EventData]] = {
    "registered": lambda iid: registered(iid),
    "submitted": lambda iid: submitted(iid),
    "revision_requested": lambda iid: InitiativeRevisionRequested(initiative_id=iid),
    "resubmitted": lambda iid: InitiativeResubmitted(initiative_id=iid),
    "approved": lambda iid: InitiativeApproved(initiative_id=iid),
    "rejected": lambda iid: InitiativeRejected(initiative_id=iid, reason="trùng lặp"),
    "recognized": lambda iid: InitiativeRecognized(initiative_id=iid, award_level="A"),
    "withdrawn": lambda iid: InitiativeWithdrawn(initiative_id=iid),
    "updated": lambda iid: InitiativeUpdated(initiative_id=iid, title="Sửa tên"),
}
"""One minimal fact per initiative fact type, by a short name."""


def fact(name: str, iid: str = "i-1") -> EventData:
    return FACTS[name](iid)


def unit(
    uid: str, parent: str | None = None, level: UnitLevel = UnitLevel.GRASSROOTS
) -> UnitRegistered:
    return UnitRegistered(unit_id=uid, name=f"Công đoàn {uid}", parent_id=parent, level=level)


def members(uid: str, count: int, as_of: dt.date) -> UnitMembershipReported:
    return UnitMembershipReported(unit_id=uid, members=count, as_of=as_of)


SEED_TIME = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
"""When test facts happen unless a test says otherwise."""


def build(
    *facts: EventData, hierarchy: Hierarchy | None = None, at: dt.datetime = SEED_TIME
) -> Hierarchy:
    """Check then apply each fact at ``at``, as the ingest service would."""
    hierarchy = hierarchy if hierarchy is not None else Hierarchy()
    for each in facts:
        hierarchy.check(each, at)
        hierarchy.apply(each, at)
    return hierarchy


LEVELS = (UnitLevel.NATIONAL, UnitLevel.PROVINCE, UnitLevel.DISTRICT)


def tree(*edges: tuple[str, str | None]) -> Hierarchy:
    """A hierarchy from ``(unit, parent)`` pairs, parents first; levels follow depth
    (national, province, then district-level unions, which may nest)."""
    depth: dict[str, int] = {}
    facts = []
    for uid, parent in edges:
        depth[uid] = 0 if parent is None else depth[parent] + 1
        facts.append(unit(uid, parent, LEVELS[min(depth[uid], len(LEVELS) - 1)]))
    return build(*facts)


def phase(phase_id: str, starts: str, ends: str) -> PhaseSpec:
    return PhaseSpec(
        phase_id=phase_id,
        name=f"Giai đoạn {phase_id}",
        starts_on=dt.date.fromisoformat(starts),
        ends_on=dt.date.fromisoformat(ends),
    )


def target(
    phase_id: str | None,
    value: str,
    kind: TargetKind = TargetKind.COUNT,
    applies_to: AppliesTo = AppliesTo.SELF,
    metric: Metric = Metric.SUBMITTED,
) -> TargetSpec:
    return TargetSpec(
        phase_id=phase_id, kind=kind, value=Decimal(value), applies_to=applies_to, metric=metric
    )


def plan(
    uid: str, phases: list[PhaseSpec], targets: list[TargetSpec], campaign: str = "1m"
) -> PlanSet:
    return PlanSet(campaign_id=campaign, unit_id=uid, phases=phases, targets=targets)


def campaign_defined(campaign: str = "1m", zone: str = "Asia/Ho_Chi_Minh") -> CampaignDefined:
    return CampaignDefined(campaign_id=campaign, name="1 triệu sáng kiến", time_zone=zone)
