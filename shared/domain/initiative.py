"""An initiative's life (sáng kiến) as a state machine, in the decide/evolve style.

``decide`` says whether a fact may happen to the current state and raises a ``DomainError``
otherwise; ``evolve`` applies an accepted fact. Keeping them apart lets a projector replay
stored (already decided) facts without re-checking, and lets the ingest service refuse a
fact before it is stored. The transition table below is the single source of the rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum

from shared.contracts.base import EventData
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
    SolutionType,
)
from shared.domain.errors import InvalidTransition, NotEditable, UnknownInitiative
from shared.domain.phases import require_aware

InitiativeFact = (
    InitiativeRegistered
    | InitiativeSubmitted
    | InitiativeRevisionRequested
    | InitiativeResubmitted
    | InitiativeApproved
    | InitiativeRejected
    | InitiativeRecognized
    | InitiativeWithdrawn
    | InitiativeUpdated
)


class InitiativeStatus(StrEnum):
    REGISTERED = "registered"
    UNDER_REVIEW = "under_review"
    REVISION_REQUESTED = "revision_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECOGNIZED = "recognized"
    WITHDRAWN = "withdrawn"


_S = InitiativeStatus

TRANSITIONS: Mapping[tuple[InitiativeStatus | None, type[EventData]], InitiativeStatus] = {
    (None, InitiativeRegistered): _S.REGISTERED,
    (None, InitiativeSubmitted): _S.UNDER_REVIEW,
    (_S.REGISTERED, InitiativeSubmitted): _S.UNDER_REVIEW,
    (_S.UNDER_REVIEW, InitiativeRevisionRequested): _S.REVISION_REQUESTED,
    (_S.REVISION_REQUESTED, InitiativeResubmitted): _S.UNDER_REVIEW,
    (_S.UNDER_REVIEW, InitiativeApproved): _S.APPROVED,
    (_S.UNDER_REVIEW, InitiativeRejected): _S.REJECTED,
    (_S.APPROVED, InitiativeRecognized): _S.RECOGNIZED,
    (_S.REGISTERED, InitiativeWithdrawn): _S.WITHDRAWN,
    (_S.UNDER_REVIEW, InitiativeWithdrawn): _S.WITHDRAWN,
    (_S.REVISION_REQUESTED, InitiativeWithdrawn): _S.WITHDRAWN,
    (_S.UNDER_REVIEW, InitiativeUpdated): _S.UNDER_REVIEW,
    (_S.REVISION_REQUESTED, InitiativeUpdated): _S.REVISION_REQUESTED,
}
"""``(current status or None when it does not exist yet, fact type) -> next status``."""

_ACTIONS: Mapping[type[EventData], str] = {
    InitiativeRegistered: "register",
    InitiativeSubmitted: "submit",
    InitiativeRevisionRequested: "request a revision of",
    InitiativeResubmitted: "resubmit",
    InitiativeApproved: "approve",
    InitiativeRejected: "reject",
    InitiativeRecognized: "recognise",
    InitiativeWithdrawn: "withdraw",
    InitiativeUpdated: "update",
}
"""The verb used in refusal reasons: "cannot approve initiative 'x': it is withdrawn"."""

FACT_TYPES: frozenset[str] = frozenset(model.type for model in _ACTIONS)
"""The ``type`` names of every fact about an initiative."""

_SUBMITTED = frozenset(
    {_S.UNDER_REVIEW, _S.REVISION_REQUESTED, _S.APPROVED, _S.REJECTED, _S.RECOGNIZED}
)
_APPROVED = frozenset({_S.APPROVED, _S.RECOGNIZED})


def counts_as_submitted(status: InitiativeStatus) -> bool:
    """Submitted (lượt nộp) and not withdrawn; a rejected initiative was still submitted."""
    return status in _SUBMITTED


def counts_as_approved(status: InitiativeStatus) -> bool:
    """Valid (hợp lệ): approved, possibly recognised since."""
    return status in _APPROVED


@dataclass(frozen=True, slots=True)
class Initiative:
    """What the rules and the metrics need to know about one initiative."""

    initiative_id: str
    campaign_id: str
    unit_id: str
    status: InitiativeStatus
    title: str
    category: str | None
    solution_type: SolutionType | None
    author_types: tuple[AuthorType, ...]
    """Distinct author types, in order of first appearance (for breakdowns by author type)."""
    first_submitted_at: dt.datetime | None
    """The first submission decides the phase; a resubmission does not move it."""
    version: int
    """How many facts were applied: the expected version for optimistic concurrency."""


def decide(state: Initiative | None, fact: EventData) -> None:
    """Raise a ``DomainError`` unless ``fact`` may happen to ``state`` (None: not yet seen)."""
    if not isinstance(fact, InitiativeFact):
        raise InvalidTransition(f"{fact.type!r} is not a fact about an initiative")
    action = f"{_ACTIONS[type(fact)]} initiative {fact.initiative_id!r}"
    if state is None:
        if (None, type(fact)) not in TRANSITIONS:
            raise UnknownInitiative(f"cannot {action}: it was never registered or submitted")
        return
    if state.initiative_id != fact.initiative_id:
        raise InvalidTransition(
            f"cannot {action} with the history of initiative {state.initiative_id!r}"
        )
    if isinstance(fact, InitiativeUpdated) and (state.status, type(fact)) not in TRANSITIONS:
        raise NotEditable(
            f"cannot {action}: it is {state.status.replace('_', ' ')}; details change only "
            "while it is under review or sent back for revision"
        )
    if (state.status, type(fact)) not in TRANSITIONS:
        raise InvalidTransition(f"cannot {action}: it is {state.status.replace('_', ' ')}")
    if isinstance(fact, InitiativeSubmitted) and fact.campaign_id != state.campaign_id:
        raise InvalidTransition(
            f"cannot {action} to campaign {fact.campaign_id!r}: "
            f"it was registered in campaign {state.campaign_id!r}"
        )


def next_status(status: InitiativeStatus | None, fact: EventData) -> InitiativeStatus:
    """The lifecycle's status after ``fact`` (``status`` None: not yet seen); a fact
    ``decide`` accepted always has one."""
    following = TRANSITIONS.get((status, type(fact)))
    if following is None:
        raise InvalidTransition(f"{fact.type!r} cannot follow {status or 'nothing'}")
    return following


def evolve(state: Initiative | None, fact: EventData, occurred_at: dt.datetime) -> Initiative:
    """Apply a fact ``decide`` accepted; ``occurred_at`` is when it happened (aware)."""
    status = next_status(None if state is None else state.status, fact)
    version = 1 if state is None else state.version + 1
    if isinstance(fact, InitiativeRegistered):
        return Initiative(
            initiative_id=fact.initiative_id,
            campaign_id=fact.campaign_id,
            unit_id=fact.unit_id,
            status=status,
            title=fact.title,
            category=None,
            solution_type=None,
            author_types=(),
            first_submitted_at=None,
            version=version,
        )
    if isinstance(fact, InitiativeSubmitted):
        return Initiative(
            initiative_id=fact.initiative_id,
            campaign_id=fact.campaign_id,
            unit_id=fact.unit_id,
            status=status,
            title=fact.title,
            category=fact.category,
            solution_type=fact.solution_type,
            author_types=_kinds(fact.authors),
            first_submitted_at=require_aware(occurred_at),
            version=version,
        )
    if state is None:  # only creation facts have a (None, type) transition
        raise AssertionError("unreachable: evolve without a decided state")
    if isinstance(fact, InitiativeUpdated):
        return replace(
            state,
            title=fact.title or state.title,
            category=fact.category or state.category,
            solution_type=fact.solution_type or state.solution_type,
            author_types=state.author_types if fact.authors is None else _kinds(fact.authors),
            version=version,
        )
    title = state.title
    if isinstance(fact, InitiativeResubmitted) and fact.title is not None:
        title = fact.title
    return replace(state, status=status, title=title, version=version)


def _kinds(authors: Iterable[Author]) -> tuple[AuthorType, ...]:
    return tuple(dict.fromkeys(author.author_type for author in authors))


def replay(history: Iterable[tuple[EventData, dt.datetime]]) -> Initiative | None:
    """Rebuild an initiative from its facts, checking each one; None for an empty history."""
    state: Initiative | None = None
    for fact, occurred_at in history:
        decide(state, fact)
        state = evolve(state, fact, occurred_at)
    return state
