"""Progress changes in, decisions and their deliveries out, exactly once in effect.

Per batch, in one transaction: bring the notifier's copy of the figures (``nt_progress``)
up to date, judge every rule change by change in order, insert each decision unless its
key exists (``ON CONFLICT DO NOTHING``), and queue one ``nt_deliveries`` row per subscriber
of each *new* decision (the outbox the delivery worker sends from after commit). A
redelivered change finds its decisions' keys taken and queues nothing. A change for a
phase not running at the clock's "now" (a reorganisation or a backfill re-summing old
phases) still updates the copy, but decides no threshold.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.notifier import subscriptions
from services.notifier.metrics import NotifierMetrics
from services.notifier.rules import (
    Decision,
    Figures,
    Judgement,
    Rule,
    RuleConfig,
    Skip,
    judge,
    not_running,
    threshold_decision,
)
from services.notifier.subscriptions import Subscriber, chunked
from shared.contracts.portal import describe
from shared.contracts.progress import ProgressChanged
from shared.dead_letters import DeadLetter, DeadLetterSink, Origin
from shared.eventstore.port import Clock
from shared.failures import is_transient, reason
from shared.persistence.schema import nt_decisions, nt_deliveries, nt_progress, rm_units
from shared.persistence.upsert import insert_on_conflict, upsert

log = logging.getLogger(__name__)

RulesFor = Callable[[str], RuleConfig]
"""The rules' parameters of a campaign (``NotifierSettings.rules_for``)."""

Key = tuple[str, str, str]
"""(unit, campaign, phase) of one row of figures."""

PENDING = "pending"
"""A queued delivery's status; the delivery worker moves it on (sent, failed, dead)."""

FIGURES = ("phase_name", "starts_on", "ends_on", "metric", "value", "target", "as_of")


def figures_of(row: Any) -> Figures:
    return Figures(
        unit_id=row.unit_id,
        campaign_id=row.campaign_id,
        phase_id=row.phase_id,
        phase_name=row.phase_name,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        metric=row.metric,
        value=row.value,
        target=row.target,
        at_risk=row.at_risk,
    )


def _key(change: ProgressChanged) -> Key:
    return (change.unit_id, change.campaign_id, change.phase_id)


# -- recording decisions and queueing deliveries ---------------------------------------------


async def record(
    connection: AsyncConnection,
    decisions: Sequence[Decision],
    now: dt.datetime,
    metrics: NotifierMetrics,
) -> list[tuple[int, Decision]]:
    """Insert the decisions whose key is new; returns those, with their ids.

    Each decision's ``details`` get its unit's name, so a message needs no other lookup.
    """
    unique: dict[str, Decision] = {}
    for decision in decisions:
        unique.setdefault(decision.key, decision)
    fresh = list(unique.values())
    if not fresh:
        return []
    names = await unit_names(connection, {decision.unit_id for decision in fresh})
    statement = (
        insert_on_conflict(connection.dialect, nt_decisions)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(nt_decisions.c.id, nt_decisions.c.key)
    )
    inserted = await connection.execute(
        statement,
        [
            {
                "key": d.key,
                "unit_id": d.unit_id,
                "campaign_id": d.campaign_id,
                "phase_id": d.phase_id,
                "rule": d.rule.value,
                "threshold": d.threshold,
                "value": d.value,
                "target": d.target,
                "details": {"unit_name": names.get(d.unit_id, d.unit_id), **d.details},
                "decided_at": now,
            }
            for d in fresh
        ],
    )
    ids = {row.key: row.id for row in inserted}
    recorded = [(ids[d.key], d) for d in fresh if d.key in ids]
    for _, decision in recorded:
        metrics.decisions.labels(decision.rule.value).inc()
    return recorded


async def unit_names(connection: AsyncConnection, unit_ids: Collection[str]) -> dict[str, str]:
    """Names of units as the read models know them now (missing ids are left out)."""
    names: dict[str, str] = {}
    for chunk in chunked(unit_ids):
        rows = await connection.execute(
            sa.select(rm_units.c.unit_id, rm_units.c.name).where(rm_units.c.unit_id.in_(chunk))
        )
        names.update({row.unit_id: row.name for row in rows})
    return names


async def queue(
    connection: AsyncConnection,
    deliveries: Sequence[tuple[int, Subscriber]],
    now: dt.datetime,
    metrics: NotifierMetrics,
) -> None:
    """One pending delivery per (decision, subscriber), due at once."""
    if not deliveries:
        return
    statement = insert_on_conflict(connection.dialect, nt_deliveries).on_conflict_do_nothing(
        index_elements=["decision_id", "subscription_id"]
    )
    await connection.execute(
        statement,
        [
            {
                "decision_id": decision_id,
                "subscription_id": subscriber.id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for decision_id, subscriber in deliveries
        ],
    )
    for _, subscriber in deliveries:
        metrics.deliveries_queued.labels(subscriber.channel).inc()


async def notify(
    connection: AsyncConnection,
    decisions: Sequence[Decision],
    now: dt.datetime,
    metrics: NotifierMetrics,
) -> int:
    """Record the decisions and queue the new ones for every subscriber following the unit
    with the rule listed (digest subscribers get theirs from the clock). Returns how many
    decisions were new."""
    recorded = await record(connection, decisions, now, metrics)
    followers = await subscriptions.unit_subscribers(
        connection, {decision.unit_id for _, decision in recorded}
    )
    await queue(
        connection,
        [
            (decision_id, subscriber)
            for decision_id, decision in recorded
            for subscriber in followers[decision.unit_id]
            if decision.rule in subscriber.rules
        ],
        now,
        metrics,
    )
    return len(recorded)


async def settle(
    connection: AsyncConnection, judgements: Iterable[tuple[Figures, Judgement]]
) -> list[Decision]:
    """The judgements' decisions, for those whose at-risk flag could be moved.

    The flag moves only if the row still holds the figures judged (compare and set), so a
    judgement on figures that changed meanwhile is dropped, not applied to newer ones.
    """
    kept: list[Decision] = []
    for seen, judged in judgements:
        if judged.figures.at_risk != seen.at_risk:
            moved = await connection.execute(
                nt_progress.update()
                .where(
                    nt_progress.c.unit_id == seen.unit_id,
                    nt_progress.c.campaign_id == seen.campaign_id,
                    nt_progress.c.phase_id == seen.phase_id,
                    nt_progress.c.at_risk == seen.at_risk,
                    nt_progress.c.value == seen.value,
                    nt_progress.c.target.is_not_distinct_from(seen.target),
                )
                .values(at_risk=judged.figures.at_risk)
            )
            if moved.rowcount != 1:
                continue
        kept.extend(judged.decisions)
    return kept


# -- progress changes ------------------------------------------------------------------------


class ChangeJudge:
    """Judges batches of ``progress.changes.v1`` messages (from Kafka or the embedded outbox)."""

    def __init__(
        self,
        engine: AsyncEngine,
        rules_for: RulesFor,
        metrics: NotifierMetrics,
        clock: Clock,
        *,
        queued: Callable[[], None] | None = None,
    ) -> None:
        """``queued`` is called after a batch that queued deliveries has committed."""
        self._engine = engine
        self._rules_for = rules_for
        self._metrics = metrics
        self._clock = clock
        self._queued = queued

    async def apply(self, changes: Sequence[ProgressChanged]) -> int:
        """Judge the batch in one transaction; returns how many decisions were new."""
        if not changes:
            return 0
        started = time.perf_counter()
        now = self._clock()
        latest = {_key(change): change for change in changes}
        async with self._engine.begin() as connection:
            # Writing first takes the rows' locks (the whole database on SQLite), so the
            # at-risk flags read next cannot move under this transaction.
            await _store(connection, latest.values())
            stored = await _stored(connection, latest.keys())
            decided = await _decided_thresholds(connection, latest.keys())
            decisions: list[Decision] = []
            flags = {key: figures.at_risk for key, figures in stored.items()}
            paced: defaultdict[Key, list[Decision]] = defaultdict(list)
            skipped: Counter[Skip] = Counter()
            for change in changes:
                # Judged change by change, so what is decided depends on the sequence of
                # changes only, never on how it was cut into batches.
                key, config = _key(change), self._rules_for(change.campaign_id)
                figures = _figures(change, at_risk=flags[key])
                crossing = threshold_decision(figures, config, decided.get(key))
                if crossing is not None:
                    if (skip := not_running(figures, now)) is None:
                        decisions.append(crossing)
                        decided[key] = crossing.threshold
                    else:
                        skipped[skip] += 1
                judged = judge(figures, now, config, figures_as_of=change.as_of)
                flags[key] = judged.figures.at_risk
                paced[key].extend(judged.decisions)
            decisions += await settle(
                connection,
                [
                    (seen, Judgement(paced[key], replace(seen, at_risk=flags[key])))
                    for key, seen in sorted(stored.items())
                ],
            )
            new = await notify(connection, decisions, now, self._metrics)
        self._metrics.changes.inc(len(changes))
        self._metrics.batch_seconds.observe(time.perf_counter() - started)
        self._count(skipped)
        if new and self._queued is not None:
            self._queued()
        return new

    def _count(self, skipped: Counter[Skip]) -> None:
        """Count the batch's crossings left undecided, and log them once for the batch."""
        for skip, count in skipped.items():
            self._metrics.decisions_skipped.labels(skip.value).inc(count)
        if skipped:
            log.info(
                "threshold crossings not decided: their phase is not running",
                extra={"skipped": {skip.value: count for skip, count in sorted(skipped.items())}},
            )


async def apply_encoded(
    judge: ChangeJudge,
    records: Sequence[tuple[bytes, Origin]],
    dead_letters: DeadLetterSink,
    metrics: NotifierMetrics,
) -> int:
    """Decode changes as received (Kafka records, outbox rows) and judge them; what is not
    a valid change is dead-lettered once the rest is committed, and the input goes on."""
    changes: list[tuple[ProgressChanged, bytes, Origin]] = []
    letters: list[DeadLetter] = []
    for raw, origin in records:
        try:
            changes.append((ProgressChanged.model_validate_json(raw), raw, origin))
        except ValidationError as error:
            letters.append(DeadLetter(raw, "undecodable", describe(error), origin))
    metrics.undecodable.inc(len(letters))
    try:
        new = await judge.apply([change for change, _, _ in changes])
    except Exception as error:
        if is_transient(error):
            raise
        new = await _judge_one_by_one(judge, changes, letters, metrics)
    await dead_letters.send(letters)
    return new


async def _judge_one_by_one(
    judge: ChangeJudge,
    changes: Sequence[tuple[ProgressChanged, bytes, Origin]],
    letters: list[DeadLetter],
    metrics: NotifierMetrics,
) -> int:
    """A batch that failed for a reason other than an outage, judged change by change: a
    change that still fails is dead-lettered with the reason, and the others are judged."""
    new = 0
    for change, raw, origin in changes:
        try:
            new += await judge.apply([change])
        except Exception as error:
            if is_transient(error):
                raise
            letters.append(DeadLetter(raw, "unapplicable", reason(error), origin))
            metrics.unapplicable.inc()
            log.error(
                "progress change dead-lettered: it cannot be judged",
                extra={
                    "unit_id": change.unit_id,
                    "phase_id": change.phase_id,
                    "reason": reason(error),
                },
            )
    return new


def _figures(change: ProgressChanged, *, at_risk: bool) -> Figures:
    return Figures(
        unit_id=change.unit_id,
        campaign_id=change.campaign_id,
        phase_id=change.phase_id,
        phase_name=change.phase_name,
        starts_on=change.starts_on,
        ends_on=change.ends_on,
        metric=change.metric,
        value=change.after.value,
        target=change.after.target,
        at_risk=at_risk,
    )


async def _store(connection: AsyncConnection, changes: Iterable[ProgressChanged]) -> None:
    """Upsert each row's latest figures, keeping its at-risk flag."""
    rows = [
        {
            "unit_id": c.unit_id,
            "campaign_id": c.campaign_id,
            "phase_id": c.phase_id,
            "phase_name": c.phase_name,
            "starts_on": c.starts_on,
            "ends_on": c.ends_on,
            "metric": c.metric,
            "value": c.after.value,
            "target": c.after.target,
            "as_of": c.as_of,
        }
        for c in sorted(changes, key=_key)
    ]
    keys = ("unit_id", "campaign_id", "phase_id")
    await connection.execute(upsert(connection.dialect, nt_progress, keys, FIGURES), rows)


async def _stored(connection: AsyncConnection, keys: Collection[Key]) -> dict[Key, Figures]:
    found: dict[Key, Figures] = {}
    for units in chunked({unit_id for unit_id, _, _ in keys}):
        rows = await connection.execute(
            sa.select(nt_progress).where(nt_progress.c.unit_id.in_(units))
        )
        for row in rows:
            key = (row.unit_id, row.campaign_id, row.phase_id)
            if key in keys:
                found[key] = figures_of(row)
    return found


async def _decided_thresholds(
    connection: AsyncConnection, keys: Collection[Key]
) -> dict[Key, float | None]:
    """The highest threshold already decided per row."""
    found: dict[Key, float | None] = {}
    highest = sa.func.max(nt_decisions.c.threshold)
    for units in chunked({unit_id for unit_id, _, _ in keys}):
        rows = await connection.execute(
            sa.select(
                nt_decisions.c.unit_id, nt_decisions.c.campaign_id, nt_decisions.c.phase_id, highest
            )
            .where(
                nt_decisions.c.unit_id.in_(units),
                nt_decisions.c.rule == Rule.THRESHOLD_CROSSED.value,
            )
            .group_by(nt_decisions.c.unit_id, nt_decisions.c.campaign_id, nt_decisions.c.phase_id)
        )
        for unit_id, campaign_id, phase_id, threshold in rows:
            if (unit_id, campaign_id, phase_id) in keys:
                found[(unit_id, campaign_id, phase_id)] = threshold
    return found
