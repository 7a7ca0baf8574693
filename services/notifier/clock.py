"""The notifier's clock: deadlines, pace and daily digests, judged as time passes.

Each check, in one transaction (``handlers.on_tick``), judges the pace of every running row
at ``now`` and, once the figures are current (:class:`~services.notifier.freshness.Freshness`),
the final outcome of every row whose deadline has passed and has none yet. A row's outcome
is stored with it and its decision key is unique, so a deadline is judged exactly once,
including deadlines passed before the notifier first ran or while it was down. Then each
daily digest whose cutoff fell since the previous check (``nt_clock.checked_until``) is
built: per digest subscription's unit, campaign, phase and rule, one decision listing the
subtree's decisions of the day before the cutoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import time
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.notifier import subscriptions
from services.notifier.freshness import Freshness
from services.notifier.handlers import RulesFor, on_tick
from services.notifier.metrics import NotifierMetrics
from services.notifier.rules import (
    UNIT_RULES,
    Decision,
    Row,
    Rule,
    digest_cutoffs,
    digest_decision,
    digest_since,
    follow_up_decision,
)
from services.notifier.schema import nt_clock, nt_decisions
from services.notifier.store import SqlStore, SqlTransaction
from services.notifier.subscriptions import Subscriber
from shared.clock import Clock
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import local_date
from shared.persistence.published import published_unit_closure as closure
from shared.persistence.upsert import upsert

log = logging.getLogger(__name__)

CLOCK_NAME = "deadlines"
DIGEST_SETTLE = dt.timedelta(minutes=1)
"""A digest is built this long after its cutoff, so decisions made just before it (in a
transaction still open at the cutoff) have committed and are listed."""


class DeadlineClock:
    def __init__(
        self,
        engine: AsyncEngine,
        rules_for: RulesFor,
        metrics: NotifierMetrics,
        clock: Clock,
        *,
        freshness: Freshness,
        digest_hour: int,
        interval_seconds: float,
    ) -> None:
        self._engine = engine
        self._store = SqlStore(engine, metrics)
        self._freshness = freshness
        self._rules_for = rules_for
        self._metrics = metrics
        self._clock = clock
        self._digest_hour = digest_hour
        self._interval = interval_seconds
        self._outcomes_wait = True
        """Whether the last check left outcomes for figures not yet current."""

    async def check(self, *, pace: bool = True) -> int:
        """One check at the clock's "now" (without ``pace``: outcomes and digests only);
        returns how many decisions were new."""
        started = time.perf_counter()
        now = self._clock()
        current = self._freshness.current()
        async with self._store.transaction() as tx:
            connection = tx.connection
            since = (
                await connection.scalar(
                    sa.select(nt_clock.c.checked_until).where(nt_clock.c.name == CLOCK_NAME)
                )
                or now
            )
            checked = max(since, now)
            await connection.execute(
                upsert(connection.dialect, nt_clock, ["name"], ["checked_until"]),
                {"name": CLOCK_NAME, "checked_until": checked},
            )
            handled = await on_tick(tx, now, self._rules_for, figures_current=current, pace=pace)
            self._outcomes_wait = handled.waiting > 0
            new = handled.decided + await self._digests(tx, since, now)
        self._metrics.clock_checked_until.set(checked.timestamp())
        self._metrics.clock_seconds.observe(time.perf_counter() - started)
        return new

    async def run(self) -> None:
        """Check every interval and, when the last check left outcomes waiting for current
        figures, at once when the input catches up (they are judged then, not a whole
        interval later).

        Only then, and only the outcomes: under a steady load the input catches up after
        nearly every batch (and is behind again at most checks), and judging every running
        row's pace each time held three quarters of the notifier's samples in a profile at
        1,000 events/s (60 ms of CPU a check with 600 running rows, against 5 ms for the
        outcomes alone). Pace is judged once an interval, however often the input catches up.
        """
        caught_up = self._freshness.caught_up
        paced = -math.inf
        while True:
            caught_up.clear()
            pace = time.monotonic() - paced >= self._interval
            try:
                decided = await self.check(pace=pace)
                if decided:
                    log.info("clock decided", extra={"decisions": decided})
            except Exception:
                log.exception("clock check failed; the next one catches up")
            if pace:
                # From the check's end: a check longer than the interval must still leave
                # the other writers (on SQLite, the only one) an interval between two.
                paced = time.monotonic()
            until_pace = max(0.0, paced + self._interval - time.monotonic())
            with contextlib.suppress(TimeoutError):
                if self._outcomes_wait:
                    await asyncio.wait_for(caught_up.wait(), until_pace)
                else:
                    await asyncio.sleep(until_pace)

    async def _digests(self, tx: SqlTransaction, since: dt.datetime, now: dt.datetime) -> int:
        connection = tx.connection
        cutoffs = digest_cutoffs(since - DIGEST_SETTLE, now - DIGEST_SETTLE, self._digest_hour)
        subscribers = await subscriptions.digest_subscribers(connection) if cutoffs else []
        if not subscribers:
            return 0
        wanted = {(s.unit_id, rule) for s in subscribers for rule in s.rules}
        new = 0
        for cutoff in cutoffs:
            listed: defaultdict[tuple[str, str, str, Rule], list[Decision]] = defaultdict(list)
            for parent_id, decision in await _subtree_decisions(
                connection, {s.unit_id for s in subscribers}, digest_since(cutoff), cutoff
            ):
                if (parent_id, decision.rule) in wanted:
                    group = (parent_id, decision.campaign_id, decision.phase_id, decision.rule)
                    listed[group].append(decision)
            digests = [
                digest_decision(parent_id, campaign_id, phase_id, rule, cutoff, children)
                for (parent_id, campaign_id, phase_id, rule), children in sorted(listed.items())
            ]
            digests += await _follow_ups(tx, subscribers, cutoff)
            recorded = await tx.record(digests, now)
            await tx.queue(
                [
                    (decision_id, subscriber)
                    for decision_id, digest in recorded
                    for subscriber in subscribers
                    if subscriber.unit_id == digest.unit_id
                    and digest.details["rule"] in subscriber.rules
                ],
                now,
            )
            new += len(recorded)
        return new


async def _follow_ups(
    tx: SqlTransaction, subscribers: Sequence[Subscriber], cutoff: dt.datetime
) -> list[Decision]:
    """One follow-up list per parent asking for it, campaign and phase running at ``cutoff``."""
    parents = {s.unit_id for s in subscribers if Rule.FOLLOW_UP in s.rules}
    if not parents:
        return []
    grouped: defaultdict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for parent_id, row in await tx.running_below(parents, local_date(cutoff, CAMPAIGN_ZONE)):
        grouped[(parent_id, row.campaign_id, row.phase_id)].append(row)
    decisions = (
        follow_up_decision(parent_id, campaign_id, phase_id, cutoff, rows)
        for (parent_id, campaign_id, phase_id), rows in sorted(grouped.items())
    )
    return [decision for decision in decisions if decision is not None]


async def _subtree_decisions(
    connection: AsyncConnection, parents: set[str], start: dt.datetime, end: dt.datetime
) -> list[tuple[str, Decision]]:
    """(parent, decision) for every per-unit decision made in ``[start, end)`` in the
    subtree (the parent included) of each of ``parents``."""
    rows = await connection.execute(
        sa.select(closure.c.ancestor_id, nt_decisions)
        .join(closure, closure.c.descendant_id == nt_decisions.c.unit_id)
        .where(
            closure.c.ancestor_id.in_(sorted(parents)),
            nt_decisions.c.rule.in_([rule.value for rule in UNIT_RULES]),
            nt_decisions.c.decided_at >= start,
            nt_decisions.c.decided_at < end,
        )
        .order_by(nt_decisions.c.id)
    )
    return [
        (
            row.ancestor_id,
            Decision(
                key=row.key,
                rule=Rule(row.rule),
                unit_id=row.unit_id,
                campaign_id=row.campaign_id,
                phase_id=row.phase_id,
                threshold=row.threshold,
                value=row.value,
                target=row.target,
                details=row.details,
            ),
        )
        for row in rows
    ]
