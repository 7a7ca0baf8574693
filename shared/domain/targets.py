"""Targets (chỉ tiêu): which one governs a unit in a phase, how many initiatives it requires,
and in which phase an initiative counts for each unit above it.

Resolution cascades: a unit's own ``self`` target wins; otherwise the nearest ancestor rule
applies, where the parent offers its ``children`` rule first and any ancestor its
``descendants`` rule ("each grassroots union ≥ 30 % of its staff per phase").
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import NamedTuple
from zoneinfo import ZoneInfo

from shared.contracts.base import LATEST_INSTANT
from shared.contracts.campaigns import AppliesTo, Metric, PhaseSpec, PlanSet, TargetKind, TargetSpec
from shared.domain.campaign import CAMPAIGN_ZONE, Campaign
from shared.domain.hierarchy import Hierarchy, MemberCounts
from shared.domain.phases import local_date, local_midnight, phase_containing
from shared.domain.plans import Plans, effective_plan

_CASCADE: tuple[tuple[AppliesTo, ...], ...] = (
    (AppliesTo.SELF,),
    (AppliesTo.CHILDREN, AppliesTo.DESCENDANTS),
    (AppliesTo.DESCENDANTS,),
)
"""Rules a plan offers, by distance from the unit: itself, its parent, any higher ancestor."""


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A target as it applies to one unit.

    ``required`` is the absolute count to reach; it is None for a ratio target when nobody in
    the unit's subtree reported membership, so dashboards can say so instead of guessing.
    """

    kind: TargetKind
    value: Decimal
    metric: Metric
    required: int | None
    source_unit_id: str
    applies_to: AppliesTo
    members: int | None
    """The membership a ratio was applied to; None for count targets."""


def required_count(kind: TargetKind, value: Decimal, members: int | None) -> int | None:
    """A count as given; a ratio rounded up on exact decimals (5 % of 13,300 is 665)."""
    if kind is TargetKind.COUNT:
        return int(value)
    if members is None:
        return None
    with localcontext() as context:
        context.prec = 64  # exact for any value × members the contracts allow
        return math.ceil(value * members)


def effective_target(
    hierarchy: Hierarchy,
    plans: Plans,
    campaign_id: str,
    unit_id: str,
    phase_id: str | None,
    at: dt.datetime = LATEST_INSTANT,
    zone: ZoneInfo = CAMPAIGN_ZONE,
) -> ResolvedTarget | None:
    """The target governing ``unit_id`` for ``phase_id`` (None: the whole campaign) at ``at``.

    A phase id names a phase of the plan that sets the target; ratio targets use the unit's
    members on that phase's first day (for the whole campaign: the plan's first phase), with
    the subtree as it stood when that day began in ``zone``: a unit closed or moved later
    does not change a phase's target.
    """
    along = plans_along(plans, campaign_id, hierarchy.ancestors(unit_id, at), at)
    return target_from(hierarchy, along, unit_id, phase_id, zone)


def plans_along(
    plans: Plans, campaign_id: str, path: Sequence[str], at: dt.datetime
) -> list[tuple[int, PlanSet]]:
    """The own plans at ``at`` of the units on ``path`` (a unit, then its ancestors then), each
    with its distance from the unit, nearest first: what resolves every phase's target, so a
    unit's phases look it up once (a national rebuild resolves 127,000 units' phases)."""
    return [
        (distance, plan)
        for distance, source_id in enumerate(path)
        if (plan := plans.own(campaign_id, source_id, at)) is not None
    ]


def target_from(
    hierarchy: Hierarchy,
    along: Sequence[tuple[int, PlanSet]],
    unit_id: str,
    phase_id: str | None,
    zone: ZoneInfo,
    known: MemberCounts | None = None,
) -> ResolvedTarget | None:
    """The target :func:`effective_target` finds, from the plans along the unit's path
    (:func:`plans_along`); subtree memberships noted in ``known`` (``Hierarchy.members_on``)."""
    for distance, plan in along:
        for applies_to in _CASCADE[min(distance, len(_CASCADE) - 1)]:
            spec = _target(plan, phase_id, applies_to)
            if spec is not None:
                return _resolve(hierarchy, plan, spec, unit_id, zone, known)
    return None


def _target(plan: PlanSet, phase_id: str | None, applies_to: AppliesTo) -> TargetSpec | None:
    return next(
        (t for t in plan.targets if t.phase_id == phase_id and t.applies_to is applies_to), None
    )


def _resolve(
    hierarchy: Hierarchy,
    plan: PlanSet,
    spec: TargetSpec,
    unit_id: str,
    zone: ZoneInfo,
    known: MemberCounts | None,
) -> ResolvedTarget:
    members = None
    if spec.kind is TargetKind.RATIO_OF_MEMBERS:
        starts = [p.starts_on for p in plan.phases if spec.phase_id in (None, p.phase_id)]
        first = min(starts)
        members = hierarchy.members_on(unit_id, first, local_midnight(first, zone), known)
    return ResolvedTarget(
        kind=spec.kind,
        value=spec.value,
        metric=spec.metric,
        required=required_count(spec.kind, spec.value, members),
        source_unit_id=plan.unit_id,
        applies_to=spec.applies_to,
        members=members,
    )


def phase_for(
    hierarchy: Hierarchy,
    plans: Plans,
    campaign: Campaign,
    unit_id: str,
    first_submitted_at: dt.datetime,
) -> PhaseSpec | None:
    """The phase of the unit's plan at the first submission containing its local date."""
    plan = effective_plan(hierarchy, plans, campaign.campaign_id, unit_id, first_submitted_at)
    if plan is None:
        return None
    return phase_containing(plan.phases, local_date(first_submitted_at, campaign.zone))


class CountsIn(NamedTuple):
    """One step of an initiative's counting path: a unit it counts for, in that unit's phase."""

    unit_id: str
    phase: PhaseSpec | None


def counting_path(
    hierarchy: Hierarchy,
    plans: Plans,
    campaign: Campaign,
    unit_id: str,
    first_submitted_at: dt.datetime,
) -> tuple[CountsIn, ...]:
    """Every unit an initiative filed under ``unit_id`` counts for, nearest first, each with
    the phase it counts in there (None: outside that unit's phases or no plan): the tree and
    plans as they stood at its first submission, for good.

    A unit merged by then sends its initiatives to the unit it was merged into.
    """
    path = hierarchy.ancestors(
        hierarchy.counting_unit(unit_id, first_submitted_at), first_submitted_at
    )
    return tuple(
        CountsIn(
            ancestor_id, phase_for(hierarchy, plans, campaign, ancestor_id, first_submitted_at)
        )
        for ancestor_id in path
    )
