"""Property tests: the lifecycle agrees with a reference table written independently."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.errors import DomainError
from shared.domain.initiative import Initiative, decide, evolve, replay

from .factories import AT, FACTS, fact

NEXT: dict[str | None, dict[str, str]] = {
    None: {"registered": "registered", "submitted": "under_review"},
    "registered": {"submitted": "under_review", "withdrawn": "withdrawn"},
    "under_review": {
        "revision_requested": "revision_requested",
        "approved": "approved",
        "rejected": "rejected",
        "withdrawn": "withdrawn",
        "updated": "under_review",
    },
    "revision_requested": {
        "resubmitted": "under_review",
        "withdrawn": "withdrawn",
        "updated": "revision_requested",
    },
    "approved": {"recognized": "recognized"},
    "rejected": {},
    "recognized": {},
    "withdrawn": {},
}
"""The rules as a plain adjacency list of status names, kept apart from the module's table."""

STEP = dt.timedelta(hours=5)


@st.composite
def valid_histories(draw: st.DrawFn) -> tuple[list[str], str | None]:
    status: str | None = None
    names: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        options = sorted(NEXT[status])
        if not options:
            break
        name = draw(st.sampled_from(options))
        names.append(name)
        status = NEXT[status][name]
    return names, status


@settings(max_examples=200)
@given(valid_histories())
def test_valid_histories_fold_to_the_reference_status(
    history: tuple[list[str], str | None],
) -> None:
    names, expected = history
    state = replay((fact(name), AT + n * STEP) for n, name in enumerate(names))
    if expected is None:
        assert state is None
        return
    assert state is not None
    assert state.status == expected
    assert state.version == len(names)
    first = next((n for n, name in enumerate(names) if name == "submitted"), None)
    assert state.first_submitted_at == (None if first is None else AT + first * STEP)


@settings(max_examples=200)
@given(st.lists(st.sampled_from(sorted(FACTS)), max_size=10))
def test_decide_refuses_exactly_what_the_table_lacks(names: list[str]) -> None:
    state: Initiative | None = None
    for n, name in enumerate(names):
        current = None if state is None else str(state.status)
        allowed = name in NEXT[current]
        try:
            decide(state, fact(name))
        except DomainError:
            assert not allowed
            continue
        assert allowed
        state = evolve(state, fact(name), AT + n * STEP)
        assert state.status == NEXT[current][name]
