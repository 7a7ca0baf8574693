"""Every allowed and every refused step of an initiative's life, with the reasons given."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from shared.contracts.initiatives import (
    Author,
    AuthorType,
    Category,
    InitiativeResubmitted,
    InitiativeUpdated,
    SolutionType,
)
from shared.domain.errors import DomainError
from shared.domain.initiative import (
    Initiative,
    InitiativeStatus,
    counts_as_approved,
    counts_as_submitted,
    decide,
    evolve,
    replay,
)

from .factories import AT, FACTS, fact, members, registered, submitted

S = InitiativeStatus

ALLOWED = {
    (None, "registered"): S.REGISTERED,
    (None, "submitted"): S.UNDER_REVIEW,
    (S.REGISTERED, "submitted"): S.UNDER_REVIEW,
    (S.UNDER_REVIEW, "revision_requested"): S.REVISION_REQUESTED,
    (S.REVISION_REQUESTED, "resubmitted"): S.UNDER_REVIEW,
    (S.UNDER_REVIEW, "approved"): S.APPROVED,
    (S.UNDER_REVIEW, "rejected"): S.REJECTED,
    (S.APPROVED, "recognized"): S.RECOGNIZED,
    (S.REGISTERED, "withdrawn"): S.WITHDRAWN,
    (S.UNDER_REVIEW, "withdrawn"): S.WITHDRAWN,
    (S.REVISION_REQUESTED, "withdrawn"): S.WITHDRAWN,
    (S.UNDER_REVIEW, "updated"): S.UNDER_REVIEW,
    (S.REVISION_REQUESTED, "updated"): S.REVISION_REQUESTED,
}

REACH = {
    None: [],
    S.REGISTERED: ["registered"],
    S.UNDER_REVIEW: ["registered", "submitted"],
    S.REVISION_REQUESTED: ["submitted", "revision_requested"],
    S.APPROVED: ["submitted", "approved"],
    S.REJECTED: ["submitted", "rejected"],
    S.RECOGNIZED: ["submitted", "approved", "recognized"],
    S.WITHDRAWN: ["registered", "withdrawn"],
}
"""A shortest history reaching each status."""

VERBS = {
    "registered": "register",
    "submitted": "submit",
    "revision_requested": "request a revision of",
    "resubmitted": "resubmit",
    "approved": "approve",
    "rejected": "reject",
    "recognized": "recognise",
    "withdrawn": "withdraw",
    "updated": "update",
}

REFUSED = [
    pair for pair in itertools.product([None, *InitiativeStatus], FACTS) if pair not in ALLOWED
]


def at(minutes: int) -> dt.datetime:
    return AT + dt.timedelta(minutes=minutes)


def reach(status: S | None) -> Initiative | None:
    return replay((fact(name), at(n)) for n, name in enumerate(REACH[status]))


@pytest.mark.parametrize(("start", "name"), list(ALLOWED), ids=str)
def test_allowed_transition(start: S | None, name: str) -> None:
    state = reach(start)
    decide(state, fact(name))
    after = evolve(state, fact(name), at(99))
    assert after.status is ALLOWED[(start, name)]
    assert after.version == len(REACH[start]) + 1


@pytest.mark.parametrize(("start", "name"), REFUSED, ids=str)
def test_refused_transition(start: S | None, name: str) -> None:
    state = reach(start)
    with pytest.raises(DomainError) as refused:
        decide(state, fact(name))
    if start is None:
        assert refused.value.code == "unknown_initiative"
        expected = f"cannot {VERBS[name]} initiative 'i-1': it was never registered or submitted"
    elif name == "updated":
        assert refused.value.code == "not_editable"
        expected = (
            f"cannot update initiative 'i-1': it is {start.replace('_', ' ')}; details change "
            "only while it is under review or sent back for revision"
        )
    else:
        assert refused.value.code == "invalid_transition"
        expected = f"cannot {VERBS[name]} initiative 'i-1': it is {start.replace('_', ' ')}"
    assert refused.value.reason == expected
    assert str(refused.value) == expected


@pytest.mark.parametrize(
    ("history", "name", "reason"),
    [
        (
            ["registered", "withdrawn"],
            "approved",
            "cannot approve initiative 'i-1': it is withdrawn",
        ),
        (["submitted"], "submitted", "cannot submit initiative 'i-1': it is under review"),
        (
            ["submitted", "rejected"],
            "recognized",
            "cannot recognise initiative 'i-1': it is rejected",
        ),
        (["registered"], "registered", "cannot register initiative 'i-1': it is registered"),
        (
            ["submitted", "approved"],
            "withdrawn",
            "cannot withdraw initiative 'i-1': it is approved",
        ),
        (
            ["submitted"],
            "resubmitted",
            "cannot resubmit initiative 'i-1': it is under review",
        ),
    ],
)
def test_refusal_reasons_name_the_initiative_action_and_status(
    history: list[str], name: str, reason: str
) -> None:
    state = replay((fact(step), AT) for step in history)
    with pytest.raises(DomainError) as refused:
        decide(state, fact(name))
    assert refused.value.reason == reason


def test_a_review_of_an_initiative_never_seen_is_unknown() -> None:
    with pytest.raises(DomainError) as refused:
        decide(None, fact("approved", "ghost"))
    assert refused.value.code == "unknown_initiative"
    assert refused.value.reason == (
        "cannot approve initiative 'ghost': it was never registered or submitted"
    )


def test_submission_must_name_the_registration_campaign() -> None:
    state = replay([(registered(campaign="1m"), AT)])
    with pytest.raises(DomainError) as refused:
        decide(state, submitted(campaign="other"))
    assert refused.value.code == "invalid_transition"
    assert refused.value.reason == (
        "cannot submit initiative 'i-1' to campaign 'other': it was registered in campaign '1m'"
    )


def test_a_fact_of_another_initiative_is_refused() -> None:
    with pytest.raises(DomainError, match="with the history of initiative 'i-1'"):
        decide(reach(S.UNDER_REVIEW), fact("approved", "i-2"))


def test_a_fact_that_is_not_about_initiatives_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        decide(None, members("u", 10, AT.date()))
    assert refused.value.reason == "'unit.membership_reported' is not a fact about an initiative"


def test_registration_keeps_content_empty_until_submission() -> None:
    state = replay([(registered(unit="reg-unit"), AT)])
    assert state == Initiative(
        initiative_id="i-1",
        campaign_id="1m",
        unit_id="reg-unit",
        status=S.REGISTERED,
        title="Ý tưởng",
        category=None,
        solution_type=None,
        author_types=(),
        first_submitted_at=None,
        version=1,
    )


def test_submission_fills_content_and_the_unit_it_counts_for() -> None:
    authors = [AuthorType.WORKER, AuthorType.MEMBER, AuthorType.WORKER]
    state = replay(
        [(registered(unit="reg-unit"), AT), (submitted(unit="cs", authors=authors), at(5))]
    )
    assert state is not None
    assert (state.unit_id, state.title, state.category) == ("cs", "Sáng kiến khử khuẩn", "covid19")
    assert state.solution_type is SolutionType.OTHER
    assert state.author_types == (AuthorType.WORKER, AuthorType.MEMBER)
    assert state.first_submitted_at == at(5)
    assert state.version == 2


def test_resubmission_keeps_the_first_submission_instant_and_may_change_the_title() -> None:
    state = replay(
        [
            (submitted(), at(0)),
            (fact("revision_requested"), at(10)),
            (InitiativeResubmitted(initiative_id="i-1", title="Tên mới"), at(20)),
        ]
    )
    assert state is not None
    assert (state.status, state.title, state.first_submitted_at) == (
        S.UNDER_REVIEW,
        "Tên mới",
        at(0),
    )
    again = replay(
        [(submitted(), at(0)), (fact("revision_requested"), at(10)), (fact("resubmitted"), at(20))]
    )
    assert again is not None
    assert again.title == "Sáng kiến khử khuẩn"


def test_a_submission_instant_must_carry_its_offset() -> None:
    with pytest.raises(ValueError, match="has no UTC offset"):
        evolve(None, submitted(), dt.datetime(2022, 5, 12, 13, 30))


def test_fold_of_nothing_is_nothing() -> None:
    assert replay([]) is None


@pytest.mark.parametrize(
    ("status", "is_submitted", "is_approved"),
    [
        (S.REGISTERED, False, False),
        (S.UNDER_REVIEW, True, False),
        (S.REVISION_REQUESTED, True, False),
        (S.APPROVED, True, True),
        (S.REJECTED, True, False),
        (S.RECOGNIZED, True, True),
        (S.WITHDRAWN, False, False),
    ],
)
def test_metrics_count_submitted_and_approved(
    status: S, is_submitted: bool, is_approved: bool
) -> None:
    assert counts_as_submitted(status) is is_submitted
    assert counts_as_approved(status) is is_approved


def test_an_update_changes_only_the_details_given_never_the_status_or_phase() -> None:
    state = replay([(submitted(), AT), (fact("revision_requested"), at(5))])
    assert state is not None
    change = InitiativeUpdated(
        initiative_id="i-1",
        category=Category.UNION_WORK,
        authors=[Author(name="Lê Thị C", author_type=AuthorType.CIVIL_SERVANT)],
    )

    decide(state, change)
    after = evolve(state, change, at(60))

    assert (after.category, after.author_types) == ("union_work", (AuthorType.CIVIL_SERVANT,))
    assert (after.title, after.solution_type) == (state.title, state.solution_type)
    assert (after.status, after.first_submitted_at) == (S.REVISION_REQUESTED, AT)
    assert after.version == state.version + 1
