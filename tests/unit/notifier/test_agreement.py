"""The notifier and the query API agree, for random figures, plans and instants: run the
notifier's handlers on the in-memory store through a random history of changes and clock
ticks, and after every step its pace state is what the API's status says at that instant;
after the deadline it has decided exactly the outcome the API shows, once."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifier.handlers import on_changes, on_tick
from services.notifier.rules import Rule, RuleConfig
from services.projector.api.status import evaluate
from shared.contracts.progress import ProgressChanged, ProgressFigures
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import Window
from shared.domain.progress import Status
from tests.conftest import UTC7
from tests.unit.notifier.memory_store import MemoryStore

CONFIG = RuleConfig(outcome_grace=dt.timedelta(0))
START = dt.datetime(2022, 1, 1, tzinfo=UTC7)


def rules_for(_campaign_id: str) -> RuleConfig:
    return CONFIG


windows = st.tuples(st.integers(0, 60), st.integers(0, 120)).map(
    lambda w: (
        (START + dt.timedelta(days=w[0])).date(),
        (START + dt.timedelta(days=w[0] + w[1])).date(),
    )
)
steps = st.lists(
    st.tuples(
        st.integers(0, 60 * 24),  # hours after the previous step
        st.one_of(st.none(), st.tuples(st.integers(0, 300), st.sampled_from([None, 50, 200]))),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(windows, steps)
async def test_what_the_notifier_decided_matches_the_status_the_api_shows(
    window: tuple[dt.date, dt.date],
    history: list[tuple[int, tuple[int, int | None] | None]],
) -> None:
    starts_on, ends_on = window
    deadline = Window(starts_on, ends_on, CAMPAIGN_ZONE).deadline
    store = MemoryStore()
    now = START - dt.timedelta(days=10)
    value, target = 0, None
    for hours, figures in history:
        now += dt.timedelta(hours=hours)
        if figures is None:
            async with store.transaction() as tx:
                await on_tick(tx, now, rules_for, figures_current=True)
        else:
            before = ProgressFigures(value=value, target=target)
            value, target = figures
            change = ProgressChanged(
                unit_id="u",
                campaign_id="c",
                phase_id="p",
                phase_name="p",
                starts_on=starts_on,
                ends_on=ends_on,
                metric="submitted",
                before=before,
                after=ProgressFigures(value=value, target=target),
                as_of=now,
            )
            async with store.transaction() as tx:
                await on_changes(tx, [change], now, rules_for)
            async with store.transaction() as tx:
                await on_tick(tx, now, rules_for, figures_current=True)
        shown = evaluate(value=value, target=target, starts_on=starts_on, ends_on=ends_on, at=now)
        row = store.stored.get(("u", "c", "p"))
        if row is None:
            continue
        running = shown in (Status.ON_TRACK, Status.AT_RISK, Status.ACHIEVED) and (
            starts_on <= now.astimezone(UTC7).date() <= ends_on
        )
        if running:
            assert row.at_risk == (shown is Status.AT_RISK)
        outcomes = [
            d for _, d in store.decisions.values() if d.rule in (Rule.MISSED, Rule.ACHIEVED)
        ]
        assert len(outcomes) <= 1
        if now >= deadline and row.target is not None:
            (decided,) = outcomes
            if (decided.value, decided.target) == (value, target):
                assert decided.rule.value == shown
