"""The notifier's clock: deadlines, pace and daily digests, judged as time passes.

Each check reads ``nt_clock.checked_until`` (the instant the previous check covered) and
judges every phase whose deadline (local midnight after its last day) fell in
``(checked_until, now]``, so deadlines that passed while the notifier was down are caught
up after a restart: no "missed" is ever missed. Running phases are judged for pace at
``now``. Then each daily digest whose cutoff fell in that interval is built: per digest
subscription's unit, campaign, phase and rule, one decision listing the subtree's
decisions of the day before the cutoff. ``checked_until`` moves in the same transaction,
and every decision key is unique, so a check repeated after a crash decides nothing twice.
The very first check starts the clock at its own instant: phases that ended before are
judged when their figures arrive (``rules.judge``'s ``figures_as_of``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.notifier import subscriptions
from services.notifier.decisions import RulesFor, figures_of, notify, queue, record, settle
from services.notifier.metrics import NotifierMetrics
from services.notifier.rules import (
    UNIT_RULES,
    Decision,
    Figures,
    Rule,
    digest_cutoffs,
    digest_decision,
    digest_since,
    judge,
)
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import local_date
from shared.eventstore.port import Clock
from shared.persistence.schema import nt_clock, nt_decisions, nt_progress, rm_closure
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
        digest_hour: int,
        interval_seconds: float,
    ) -> None:
        self._engine = engine
        self._rules_for = rules_for
        self._metrics = metrics
        self._clock = clock
        self._digest_hour = digest_hour
        self._interval = interval_seconds

    async def check(self) -> int:
        """One check at the clock's "now"; returns how many decisions were new."""
        started = time.perf_counter()
        now = self._clock()
        async with self._engine.connect() as connection:
            since = (
                await connection.scalar(
                    sa.select(nt_clock.c.checked_until).where(nt_clock.c.name == CLOCK_NAME)
                )
                or now
            )
            due = await _due(connection, since, now)
        judgements = [
            (figures, judge(figures, now, self._rules_for(figures.campaign_id))) for figures in due
        ]
        checked = max(since, now)
        async with self._engine.begin() as connection:
            # Writing first takes the write lock at once on SQLite (a read first could not
            # be upgraded after another writer's commit); the rest commits with it or not.
            await connection.execute(
                upsert(connection.dialect, nt_clock, ["name"], ["checked_until"]),
                {"name": CLOCK_NAME, "checked_until": checked},
            )
            new = await notify(connection, await settle(connection, judgements), now, self._metrics)
            new += await self._digests(connection, since, now)
        self._metrics.clock_checked_until.set(checked.timestamp())
        self._metrics.clock_seconds.observe(time.perf_counter() - started)
        return new

    async def run(self) -> None:
        while True:
            try:
                decided = await self.check()
                if decided:
                    log.info("clock decided", extra={"decisions": decided})
            except Exception:
                log.exception("clock check failed; the next one catches up")
            await asyncio.sleep(self._interval)

    async def _digests(
        self, connection: AsyncConnection, since: dt.datetime, now: dt.datetime
    ) -> int:
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
            recorded = await record(connection, digests, now, self._metrics)
            await queue(
                connection,
                [
                    (decision_id, subscriber)
                    for decision_id, digest in recorded
                    for subscriber in subscribers
                    if subscriber.unit_id == digest.unit_id
                    and digest.details["rule"] in subscriber.rules
                ],
                now,
                self._metrics,
            )
            new += len(recorded)
        return new


async def _due(connection: AsyncConnection, since: dt.datetime, now: dt.datetime) -> list[Figures]:
    """Rows with a target whose deadline fell in ``(since, now]``, or whose phase is running.

    The deadline of a phase ending on day *e* is local midnight after *e*, so it falls in
    the interval exactly when local(since) ≤ *e* < local(now).
    """
    first, today = local_date(since, CAMPAIGN_ZONE), local_date(now, CAMPAIGN_ZONE)
    ended = sa.and_(nt_progress.c.ends_on >= first, nt_progress.c.ends_on < today)
    running = sa.and_(nt_progress.c.starts_on <= today, nt_progress.c.ends_on >= today)
    query = (
        sa.select(nt_progress)
        .where(nt_progress.c.target.is_not(None), sa.or_(ended, running))
        .order_by(nt_progress.c.unit_id, nt_progress.c.campaign_id, nt_progress.c.phase_id)
    )
    return [figures_of(row) for row in await connection.execute(query)]


async def _subtree_decisions(
    connection: AsyncConnection, parents: set[str], start: dt.datetime, end: dt.datetime
) -> list[tuple[str, Decision]]:
    """(parent, decision) for every per-unit decision made in ``[start, end)`` in the
    subtree (the parent included) of each of ``parents``."""
    rows = await connection.execute(
        sa.select(rm_closure.c.ancestor_id, nt_decisions)
        .join(rm_closure, rm_closure.c.descendant_id == nt_decisions.c.unit_id)
        .where(
            rm_closure.c.ancestor_id.in_(sorted(parents)),
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
