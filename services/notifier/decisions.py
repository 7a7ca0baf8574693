"""Progress changes in, decisions and their deliveries out, exactly once in effect.

Per batch, in one transaction (``handlers.on_changes``): bring the notifier's copy of the
figures up to date, judge the change rules change by change in order, insert each decision
unless its key exists, and queue one delivery per subscriber of each *new* decision (the
outbox the delivery worker sends from after commit). A redelivered change finds its
decisions' keys taken and queues nothing.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from services.notifier.freshness import Freshness
from services.notifier.handlers import RulesFor, on_changes
from services.notifier.metrics import NotifierMetrics
from services.notifier.rules import Skip
from services.notifier.store import Store
from shared.clock import Clock
from shared.contracts.portal import describe
from shared.contracts.progress import ProgressChanged
from shared.dead_letters import DeadLetter, DeadLetterSink, Origin
from shared.failures import is_transient, reason

log = logging.getLogger(__name__)


class ChangeJudge:
    """Judges batches of ``progress.changes.v1`` messages (from Kafka or the embedded outbox)."""

    def __init__(
        self,
        store: Store,
        rules_for: RulesFor,
        metrics: NotifierMetrics,
        clock: Clock,
        *,
        freshness: Freshness | None = None,
        queued: Callable[[], None] | None = None,
    ) -> None:
        """``queued`` is called after a batch that queued deliveries has committed."""
        self._store = store
        self._rules_for = rules_for
        self._metrics = metrics
        self._clock = clock
        self.freshness = freshness or Freshness()
        self._queued = queued

    async def apply(self, changes: Sequence[ProgressChanged]) -> int:
        """Judge the batch in one transaction; returns how many decisions were new."""
        if not changes:
            return 0
        started = time.perf_counter()
        async with self._store.transaction() as tx:
            handled = await on_changes(tx, changes, self._clock(), self._rules_for)
        self._metrics.changes.inc(len(changes))
        self._metrics.batch_seconds.observe(time.perf_counter() - started)
        self._count(handled.skipped)
        if handled.decided and self._queued is not None:
            self._queued()
        return handled.decided

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
