"""The delivery worker: sends queued notifications, retries with backoff, logs every attempt.

Claiming is safe with several workers: one short transaction picks due rows with
``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite ignores the clause and serialises writers)
and pushes their ``next_attempt_at`` forward by a lease, re-checking that they are still due,
so a row belongs to whoever moved it. Sending happens outside any transaction; each outcome
is recorded as soon as its send ends (with those ending at the same time), only if the lease
is still ours. A delivery marked ``sent`` is never picked again; a crash between a send and
its record can resend it once, after the lease expires (receivers dedupe on the decision
``key``; e-mails keep their Message-ID).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.notifier.channels.base import (
    Channel,
    PermanentFailure,
    Recipient,
    TransientFailure,
)
from services.notifier.delivery_metrics import DeliveryMetrics
from services.notifier.messages import (
    DecisionView,
    child_unit_ids,
    decision_view,
    render,
    webhook_payload,
)
from services.notifier.schema import nt_attempts, nt_decisions, nt_deliveries, nt_subscriptions
from services.notifier.store import unit_names
from shared.clock import Clock, utc_now
from shared.failures import reason
from shared.wakeup import Wakeup

log = logging.getLogger(__name__)

OPEN = ("pending", "failed")
"""Statuses still to be sent: never tried, or waiting for a retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: about 5 s, 10 s, 20 s … at most an hour apart."""

    base_seconds: float = 5.0
    factor: float = 2.0
    cap_seconds: float = 3600.0
    max_attempts: int = 8

    def delay(self, attempts: int, draw: float, hint: float | None = None) -> float:
        """Seconds to wait after ``attempts`` failed tries; ``draw`` in [0, 1) spreads
        retries over the upper half of the backoff, ``hint`` is the receiver's Retry-After."""
        backoff = min(self.cap_seconds, self.base_seconds * self.factor ** (attempts - 1))
        return min(self.cap_seconds, max(backoff * (0.5 + draw / 2), hint or 0.0))


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds until ``lease``, with everything needed to send it."""

    delivery_id: int
    lease: dt.datetime
    attempts: int
    recipient: Recipient
    disabled_reason: str | None
    decision: DecisionView


@dataclass(frozen=True)
class Result:
    """What one attempt came to: its line in the attempts log and the delivery's next state."""

    outcome: str
    detail: str
    status: str
    next_attempt_at: dt.datetime
    disable: bool = False


class DeliveryWorker:
    def __init__(
        self,
        engine: AsyncEngine,
        channels: Mapping[str, Channel],
        metrics: DeliveryMetrics,
        clock: Clock = utc_now,
        *,
        policy: RetryPolicy = RetryPolicy(),
        batch_size: int = 20,
        lease_seconds: float = 300.0,
        idle_seconds: float = 1.0,
        draw: Callable[[], float] = random.random,
    ) -> None:
        """``lease_seconds`` must exceed the longest send (channel timeouts) or a slow send
        could be claimed again; only subscriptions on ``channels`` are served."""
        self._engine = engine
        self._channels = channels
        self._metrics = metrics
        self._clock = clock
        self._policy = policy
        self._batch_size = batch_size
        self._lease = dt.timedelta(seconds=lease_seconds)
        self._idle_seconds = idle_seconds
        self._draw = draw
        self.wakeup = Wakeup()
        """Woken when deliveries were queued in this process."""

    async def deliver_due(self, limit: int | None = None) -> int:
        """One pass: claim up to ``limit`` due deliveries and try each once, concurrently.

        Outcomes are recorded as their sends end, those that end together in one transaction:
        a pass holds one connection at a time instead of one per delivery, which had the
        pool open and close connections beyond its size in every busy pass."""
        claimed = await self._claim(limit or self._batch_size)
        pending = {asyncio.ensure_future(self._attempt(item)) for item in claimed}
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                await self._record([task.result() for task in done])
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return len(claimed)

    async def observe_queue(self) -> None:
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    sa.select(sa.func.count(), sa.func.min(nt_deliveries.c.created_at)).where(
                        nt_deliveries.c.status.in_(OPEN)
                    )
                )
            ).one()
        size, oldest = row
        self._metrics.queue.set(size)
        age = 0.0 if oldest is None else (self._clock() - oldest).total_seconds()
        self._metrics.oldest_age.set(max(age, 0.0))

    async def run(self) -> None:
        """Deliver until cancelled; a failing pass is logged and retried after a pause."""
        while True:
            try:
                handled = await self.deliver_due()
                await self.observe_queue()
            except Exception:
                log.exception("delivery pass failed; retrying")
                handled = 0
            if handled < self._batch_size:
                await self.wakeup.pause(self._idle_seconds)

    async def _claim(self, limit: int) -> list[Claimed]:
        now = self._clock()
        lease = now + self._lease
        d, s = nt_deliveries, nt_subscriptions
        due = sa.and_(d.c.status.in_(OPEN), d.c.next_attempt_at <= now)
        async with self._engine.begin() as connection:
            candidates = (
                await connection.execute(
                    sa.select(d.c.id)
                    .join(s, s.c.id == d.c.subscription_id)
                    .where(due, s.c.channel.in_(list(self._channels)))
                    .order_by(d.c.next_attempt_at, d.c.id)
                    .limit(limit)
                    .with_for_update(of=d, skip_locked=True)
                )
            ).scalars()
            ids = list(candidates)
            if not ids:
                return []
            taken = await connection.execute(
                d.update()
                .where(d.c.id.in_(ids), due)
                .values(next_attempt_at=lease)
                .returning(d.c.id)
            )
            claimed, broken = await _load(connection, list(taken.scalars()), lease)
            await self._give_up(connection, broken)
            return claimed

    async def _attempt(self, item: Claimed) -> tuple[Claimed, Result]:
        """Send ``item`` once (unless its subscription is disabled); what came of it."""
        channel = item.recipient.channel
        if item.disabled_reason is not None:
            return item, self._dead(f"not sent: subscription disabled ({item.disabled_reason})")
        started = time.perf_counter()
        try:
            language = item.recipient.language
            message = render(item.decision, language)
            payload = webhook_payload(item.decision, message, language)
            await self._channels[channel].send(item.recipient, message, payload)
        except PermanentFailure as failure:
            result = self._dead(str(failure), disable=True)
        except TransientFailure as failure:
            result = self._retry_or_give_up(item, str(failure), failure.retry_after)
        except Exception as error:
            log.exception("delivery %s failed unexpectedly", item.delivery_id)
            result = self._retry_or_give_up(item, f"{type(error).__name__}: {error}", None)
        else:
            result = Result("sent", f"sent via {channel}", "sent", self._clock())
        finally:
            self._metrics.send_seconds.labels(channel).observe(time.perf_counter() - started)
        return item, result

    def _dead(self, detail: str, disable: bool = False) -> Result:
        return Result("dead", detail, "dead", self._clock(), disable)

    def _retry_or_give_up(self, item: Claimed, detail: str, hint: float | None) -> Result:
        attempts = item.attempts + 1
        if attempts >= self._policy.max_attempts:
            return self._dead(f"gave up after {attempts} attempts: {detail}")
        wait = self._policy.delay(attempts, self._draw(), hint)
        next_at = self._clock() + dt.timedelta(seconds=wait)
        return Result("retry", f"{detail} (retry in {wait:.0f} s)", "failed", next_at)

    async def _record(self, outcomes: Sequence[tuple[Claimed, Result]]) -> None:
        """Log the attempts and move each delivery on, unless another worker took it over."""
        now = self._clock()
        d = nt_deliveries
        lost = []
        async with self._engine.begin() as connection:
            await connection.execute(
                nt_attempts.insert(),
                [
                    {
                        "delivery_id": item.delivery_id,
                        "at": now,
                        "outcome": result.outcome,
                        "detail": result.detail,
                    }
                    for item, result in outcomes
                ],
            )
            for item, result in outcomes:
                moved = await connection.execute(
                    d.update()
                    .where(
                        d.c.id == item.delivery_id,
                        d.c.status.in_(OPEN),
                        d.c.next_attempt_at == item.lease,
                    )
                    .values(
                        status=result.status,
                        attempts=d.c.attempts + 1,
                        next_attempt_at=result.next_attempt_at,
                    )
                )
                if not moved.rowcount:
                    lost.append(item.delivery_id)
                if result.disable:
                    await connection.execute(
                        nt_subscriptions.update()
                        .where(
                            nt_subscriptions.c.id == item.recipient.id,
                            nt_subscriptions.c.disabled_reason.is_(None),
                        )
                        .values(disabled_reason=f"delivery {item.delivery_id}: {result.detail}")
                    )
        for delivery_id in lost:
            log.warning("delivery %s: lease lost before its outcome was recorded", delivery_id)
        for item, result in outcomes:
            self._count(item.recipient.channel, result)

    async def _give_up(self, connection: AsyncConnection, broken: Sequence[Unsendable]) -> None:
        """End deliveries that can never be sent, with the reason on record."""
        now = self._clock()
        for item in broken:
            detail = f"cannot be sent: {item.reason}"
            await connection.execute(
                nt_attempts.insert().values(
                    delivery_id=item.delivery_id, at=now, outcome="dead", detail=detail
                )
            )
            await connection.execute(
                nt_deliveries.update()
                .where(nt_deliveries.c.id == item.delivery_id)
                .values(status="dead", attempts=nt_deliveries.c.attempts + 1)
            )
            self._metrics.deliveries.labels(item.channel, "dead").inc()
            log.error("delivery %s cannot be sent: %s", item.delivery_id, item.reason)

    def _count(self, channel: str, result: Result) -> None:
        if result.outcome == "retry":
            self._metrics.retries.labels(channel).inc()
        else:
            self._metrics.deliveries.labels(channel, result.outcome).inc()
        if result.disable:
            log.warning("subscription disabled: %s", result.detail)


class Unsendable(NamedTuple):
    """A claimed delivery whose stored rows cannot make a message."""

    delivery_id: int
    channel: str
    reason: str


async def _load(
    connection: AsyncConnection, ids: Sequence[int], lease: dt.datetime
) -> tuple[list[Claimed], list[Unsendable]]:
    """Everything a message needs: decision, subscription and unit names; and the deliveries
    whose rows cannot make one (each alone, so one bad row never holds the others)."""
    if not ids:
        return [], []
    d, dec, s = nt_deliveries, nt_decisions, nt_subscriptions
    query = (
        sa.select(
            d.c.id.label("delivery_id"),
            d.c.attempts,
            dec,
            s.c.id.label("subscription_id"),
            *(s.c[name] for name in ("official", "channel", "address", "secret", "language")),
            s.c.disabled_reason,
        )
        .select_from(
            d.join(dec, dec.c.id == d.c.decision_id).join(s, s.c.id == d.c.subscription_id)
        )
        .where(d.c.id.in_(ids))
    )
    rows = (await connection.execute(query)).mappings().all()
    units: set[str] = set()
    readable, broken = [], []
    for row in rows:
        try:
            units.update((row["unit_id"], *child_unit_ids(row["details"])))
            readable.append(row)
        except Exception as error:
            broken.append(Unsendable(row["delivery_id"], row["channel"], reason(error)))
    names = await unit_names(connection, units)
    claimed = []
    for row in readable:
        try:
            claimed.append(_claimed(row, lease, names))
        except Exception as error:
            broken.append(Unsendable(row["delivery_id"], row["channel"], reason(error)))
    return claimed, broken


def _claimed(row: RowMapping, lease: dt.datetime, names: Mapping[str, str]) -> Claimed:
    return Claimed(
        delivery_id=row["delivery_id"],
        lease=lease,
        attempts=row["attempts"],
        recipient=Recipient(
            id=row["subscription_id"],
            official=row["official"],
            channel=row["channel"],
            address=row["address"],
            secret=row["secret"],
            language=row["language"],
        ),
        disabled_reason=row["disabled_reason"],
        decision=decision_view(row, names),
    )
