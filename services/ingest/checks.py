"""Which domain rule checks each kind of portal fact, and what a refusal means for it.

Routing is data: one checker per fact type. Refusals that may stop being refusals once a
missing fact arrives (the unit, campaign or initiative is not known *yet*) are parked and
retried; every other refusal is final.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, MutableMapping

from shared.contracts.base import EventData
from shared.contracts.campaigns import CampaignDefined, PlanSet
from shared.contracts.initiatives import InitiativeRegistered, InitiativeSubmitted
from shared.contracts.units import (
    UnitClosed,
    UnitLevelChanged,
    UnitMembershipReported,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
)
from shared.domain import initiative
from shared.domain.errors import DomainError, UnknownCampaign, UnknownInitiative, UnknownUnit
from shared.domain.plans import check_plan
from shared.reference import ReferenceView

InitiativeStates = MutableMapping[str, initiative.Initiative | None]
Checker = Callable[[EventData, dt.datetime, ReferenceView, InitiativeStates], None]

MAY_BECOME_VALID: tuple[type[DomainError], ...] = (UnknownUnit, UnknownCampaign, UnknownInitiative)


def may_become_valid(error: DomainError) -> bool:
    return isinstance(error, MAY_BECOME_VALID)


def _unit(fact: EventData, at: dt.datetime, ref: ReferenceView, _: InitiativeStates) -> None:
    ref.hierarchy.check(fact, at)
    ref.hierarchy.apply(fact, at)


def _campaign(fact: EventData, _: dt.datetime, ref: ReferenceView, __: InitiativeStates) -> None:
    assert isinstance(fact, CampaignDefined)
    ref.campaigns.check(fact)
    ref.campaigns.apply(fact)


def _plan(fact: EventData, at: dt.datetime, ref: ReferenceView, _: InitiativeStates) -> None:
    assert isinstance(fact, PlanSet)
    check_plan(fact, ref.hierarchy, ref.campaigns, at)
    ref.plans.set(fact, at)


def _initiative(
    fact: EventData, occurred_at: dt.datetime, ref: ReferenceView, states: InitiativeStates
) -> None:
    assert isinstance(fact, initiative.InitiativeFact)
    initiative_id = fact.initiative_id
    if isinstance(fact, InitiativeRegistered | InitiativeSubmitted):
        doing = f"file initiative {initiative_id!r} under unit {fact.unit_id!r}"
        if fact.campaign_id not in ref.campaigns:
            raise UnknownCampaign(f"cannot {doing}: campaign {fact.campaign_id!r} is not defined")
        ref.hierarchy.require_open(fact.unit_id, doing, occurred_at)
    state = states.get(initiative_id)
    initiative.decide(state, fact)
    states[initiative_id] = initiative.evolve(state, fact, occurred_at)


CHECKERS: dict[str, Checker] = {
    UnitRegistered.type: _unit,
    UnitMoved.type: _unit,
    UnitMerged.type: _unit,
    UnitClosed.type: _unit,
    UnitRenamed.type: _unit,
    UnitLevelChanged.type: _unit,
    UnitMembershipReported.type: _unit,
    CampaignDefined.type: _campaign,
    PlanSet.type: _plan,
    **dict.fromkeys(initiative.FACT_TYPES, _initiative),
}
