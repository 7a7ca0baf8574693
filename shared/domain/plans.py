"""Each unit's plan (phases and targets) for a campaign, and which plan governs a unit.

Units on one path may plan differently (the national scheme has 2 phases, Bắc Kạn 3); a
unit without a plan of its own follows its nearest ancestor's.
"""

from __future__ import annotations

from shared.contracts.campaigns import PlanSet
from shared.domain.campaign import Campaigns
from shared.domain.errors import UnknownCampaign
from shared.domain.hierarchy import Hierarchy


class Plans:
    """Plans by (campaign, unit); a new plan replaces the unit's previous one as a whole."""

    def __init__(self) -> None:
        self._plans: dict[tuple[str, str], PlanSet] = {}

    def set(self, plan: PlanSet) -> None:
        self._plans[(plan.campaign_id, plan.unit_id)] = plan

    def own(self, campaign_id: str, unit_id: str) -> PlanSet | None:
        return self._plans.get((campaign_id, unit_id))


def check_plan(plan: PlanSet, hierarchy: Hierarchy, campaigns: Campaigns) -> None:
    """Refuse a plan for an undefined campaign or for a unit that is unknown or not open."""
    doing = f"set the plan of unit {plan.unit_id!r} for campaign {plan.campaign_id!r}"
    if plan.campaign_id not in campaigns:
        raise UnknownCampaign(f"cannot {doing}: the campaign is not defined")
    hierarchy.require_open(plan.unit_id, doing)


def effective_plan(
    hierarchy: Hierarchy, plans: Plans, campaign_id: str, unit_id: str
) -> PlanSet | None:
    """The unit's own plan for the campaign, else its nearest ancestor's, else None."""
    for ancestor_id in hierarchy.ancestors(unit_id):
        plan = plans.own(campaign_id, ancestor_id)
        if plan is not None:
            return plan
    return None
