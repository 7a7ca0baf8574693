"""Each unit's plan (phases and targets) for a campaign, effective-dated, and which plan
governs a unit at an instant.

Units on one path may plan differently (the national scheme has 2 phases, Bắc Kạn 3); a
unit without a plan of its own follows its nearest ancestor's as the tree stood then. A new
plan replaces the unit's previous one from its own ``occurred_at``; the earliest plan of a
unit describes it from the start of the campaign, so plans recorded after the first
initiatives still place them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from shared.contracts.base import EARLIEST_INSTANT, LATEST_INSTANT
from shared.contracts.campaigns import PlanSet
from shared.domain.campaign import Campaigns
from shared.domain.errors import UnknownCampaign
from shared.domain.hierarchy import Hierarchy
from shared.domain.timeline import Timeline


class Plans:
    """Plan timelines by (campaign, unit)."""

    def __init__(self) -> None:
        self._plans: dict[tuple[str, str], Timeline[PlanSet]] = {}

    def effective_from(self, plan: PlanSet, at: dt.datetime) -> dt.datetime:
        """The instant from which setting ``plan`` at ``at`` changes what plans say: the
        start of time when it would be the unit's earliest plan."""
        timeline = self._plans.get((plan.campaign_id, plan.unit_id))
        return EARLIEST_INSTANT if timeline is None or at < timeline.first else at

    def set(self, plan: PlanSet, at: dt.datetime) -> dt.datetime:
        """Record ``plan`` from ``at`` on; the instant from which plans read differently."""
        since = self.effective_from(plan, at)
        key = (plan.campaign_id, plan.unit_id)
        timeline = self._plans.get(key)
        if timeline is None:
            self._plans[key] = Timeline(at, plan)
        else:
            timeline.set(at, plan)
        return since

    def own(
        self, campaign_id: str, unit_id: str, at: dt.datetime = LATEST_INSTANT
    ) -> PlanSet | None:
        timeline = self._plans.get((campaign_id, unit_id))
        return None if timeline is None else timeline.at(at)

    def changes(self, campaign_id: str, unit_id: str) -> Iterator[dt.datetime]:
        """The instants at which the unit's own plan is replaced."""
        timeline = self._plans.get((campaign_id, unit_id))
        return iter(()) if timeline is None else timeline.changes()

    def all_changes(self) -> Iterator[dt.datetime]:
        """The instants at which any unit's own plan is replaced."""
        for timeline in self._plans.values():
            yield from timeline.changes()

    def every_plan(self) -> Iterator[PlanSet]:
        """Every plan any unit has had or has, of every campaign."""
        for timeline in self._plans.values():
            yield from timeline.values()


def check_plan(plan: PlanSet, hierarchy: Hierarchy, campaigns: Campaigns, at: dt.datetime) -> None:
    """Refuse a plan for an undefined campaign or for a unit that is unknown or not open."""
    doing = f"set the plan of unit {plan.unit_id!r} for campaign {plan.campaign_id!r}"
    if plan.campaign_id not in campaigns:
        raise UnknownCampaign(f"cannot {doing}: the campaign is not defined")
    hierarchy.require_open(plan.unit_id, doing, at)


def effective_plan(
    hierarchy: Hierarchy,
    plans: Plans,
    campaign_id: str,
    unit_id: str,
    at: dt.datetime = LATEST_INSTANT,
) -> PlanSet | None:
    """The plan governing the unit at ``at``: its own, else its nearest ancestor's then."""
    for ancestor_id in hierarchy.ancestors(unit_id, at):
        plan = plans.own(campaign_id, ancestor_id, at)
        if plan is not None:
            return plan
    return None
