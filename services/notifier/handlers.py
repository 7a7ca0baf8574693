"""What the notifier does with a batch of progress changes and with a clock tick: plain
functions over the storage port, judged with the rules' registry, in one transaction each.

A change updates the copy of its row unless the copy already holds a later change (its
``sequence``), then the change rules judge it at the figures' own time. A tick judges the
pace of every running row at the clock's now and, when the figures are current, the outcome
of every row whose deadline has passed and has none yet: deadlines passed before the first
start or during downtime are judged at the next tick, each exactly once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from services.notifier.rules import Decision, Row, RuleConfig, Skip, Trigger, judge
from services.notifier.store import Key, Transaction
from shared.contracts.progress import ProgressChanged
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import local_date

RulesFor = Callable[[str], RuleConfig]
"""The rules' parameters of a campaign (``NotifierSettings.rules_for``)."""


@dataclass
class Handled:
    decided: int = 0
    """How many decisions were new."""
    skipped: Counter[Skip] = field(default_factory=Counter)
    waiting: int = 0
    """Rows past their last day without an outcome, left because the figures were not
    current: the clock checks again as soon as they are."""


def key_of(change: ProgressChanged) -> Key:
    return (change.unit_id, change.campaign_id, change.phase_id)


def updated(row: Row | None, change: ProgressChanged) -> Row | None:
    """The copy with the change's figures, keeping what was decided; None if the copy
    already holds a later change (a redelivery, or a second relay's stale duplicate)."""
    held = None if row is None else row.sequence
    if held is not None and change.sequence is not None and change.sequence <= held:
        return None
    figures = Row(
        unit_id=change.unit_id,
        campaign_id=change.campaign_id,
        phase_id=change.phase_id,
        phase_name=change.phase_name,
        starts_on=change.starts_on,
        ends_on=change.ends_on,
        metric=change.metric,
        value=change.after.value,
        target=change.after.target,
        as_of=change.as_of,
        sequence=change.sequence,
    )
    if row is None:
        return figures
    return replace(
        figures,
        at_risk=row.at_risk,
        decided_threshold=row.decided_threshold,
        outcome=row.outcome,
    )


async def on_changes(
    tx: Transaction, changes: Sequence[ProgressChanged], now: dt.datetime, rules_for: RulesFor
) -> Handled:
    """Judge the changes in order, one by one, so what is decided depends on the sequence
    of changes only, never on how it was cut into batches."""
    handled = Handled()
    rows = await tx.rows({key_of(change) for change in changes})
    touched: set[Key] = set()
    decisions: list[Decision] = []
    for change in changes:
        key = key_of(change)
        row = updated(rows.get(key), change)
        if row is None:
            continue
        at = min(change.as_of, now)
        judged = judge(row, Trigger.CHANGE, at, now, rules_for(change.campaign_id))
        rows[key] = judged.row
        touched.add(key)
        decisions += judged.decisions
        handled.skipped.update(judged.skipped)
    await tx.save([rows[key] for key in touched])
    handled.decided = await notify(tx, decisions, now)
    return handled


async def on_tick(
    tx: Transaction,
    now: dt.datetime,
    rules_for: RulesFor,
    *,
    figures_current: bool,
    pace: bool = True,
) -> Handled:
    """With ``pace``, the pace at ``now`` of running rows; outcomes only on
    ``figures_current`` (the input has heard every change published so far), never on a
    copy still catching up."""
    handled = Handled()
    decisions: list[Decision] = []
    changed: list[Row] = []
    today = local_date(now, CAMPAIGN_ZONE)
    triggers: tuple[Trigger, ...] = (Trigger.TICK,) if pace else ()
    if figures_current:
        triggers += (Trigger.DEADLINE,)
    for row in await tx.due(now, running=pace):
        if not figures_current and row.outcome is None and row.ends_on < today:
            handled.waiting += 1
        config, judged_row = rules_for(row.campaign_id), row
        for trigger in triggers:
            judged = judge(judged_row, trigger, now, now, config)
            judged_row = judged.row
            decisions += judged.decisions
        if judged_row != row:
            changed.append(judged_row)
    await tx.save(changed)
    handled.decided = await notify(tx, decisions, now)
    return handled


async def notify(tx: Transaction, decisions: Sequence[Decision], now: dt.datetime) -> int:
    """Record the decisions and queue the new ones for every subscriber following the unit
    with the rule listed that existed at the instant a decision is about; returns how many
    decisions were new. Digest subscribers get theirs from the clock."""
    recorded = await tx.record(decisions, now)
    followers = await tx.followers({decision.unit_id for _, decision in recorded})
    await tx.queue(
        [
            (decision_id, subscriber)
            for decision_id, decision in recorded
            for subscriber in followers[decision.unit_id]
            if decision.rule in subscriber.rules
            and (decision.about is None or subscriber.created_at <= decision.about)
        ],
        now,
    )
    return len(recorded)
