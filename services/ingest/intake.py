"""Input from any door, handled the same way: decide, then park or dead-letter what is left.

Kafka and file input dead-letter their rejections (nobody is waiting for an answer);
HTTP callers get the rejection in the response instead. Parked facts are retried by
:meth:`Intake.retry_parked` and dead-lettered when their hold expires.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from services.ingest.metrics import IngestMetrics
from services.ingest.parking import ParkingLot
from services.ingest.pipeline import IngestPipeline
from services.ingest.verdicts import Verdict, VerdictStatus
from shared.dead_letters import DeadLetter, DeadLetterSink, Origin
from shared.eventstore.port import Clock, utc_now

log = logging.getLogger(__name__)

_LEVELS = {
    VerdictStatus.ACCEPTED: logging.DEBUG,
    VerdictStatus.DUPLICATE: logging.INFO,
    VerdictStatus.PARKED: logging.INFO,
    VerdictStatus.REJECTED: logging.WARNING,
}


def _log(verdict: Verdict, origin: Origin) -> None:
    """One structured line per event (accepted ones only at DEBUG: there are millions, so
    the line is not even built unless it will be written)."""
    level = _LEVELS[verdict.status]
    if not log.isEnabledFor(level):
        return
    log.log(
        level,
        "portal event %s",
        verdict.status.value,
        extra={
            "event_id": verdict.event_id,
            "correlation_id": verdict.correlation_id,
            "type": verdict.type,
            "code": verdict.code,
            "reason": verdict.message,
            "origin": origin.as_dict(),
        },
    )


@dataclass(frozen=True)
class Incoming:
    raw: bytes
    origin: Origin


@dataclass
class RetryReport:
    released: int = 0
    still_parked: int = 0
    dead_lettered: Counter[str] = field(default_factory=Counter)


class Intake:
    def __init__(
        self,
        pipeline: IngestPipeline,
        parking: ParkingLot,
        dead_letters: DeadLetterSink,
        metrics: IngestMetrics,
        clock: Clock = utc_now,
        retry_batch: int = 1000,
    ) -> None:
        self.pipeline = pipeline
        self._parking = parking
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._clock = clock
        self._retry_batch = retry_batch

    async def receive(
        self, items: Sequence[Incoming], dead_letter_rejections: bool
    ) -> list[Verdict]:
        """Decide a batch from one door (``origin.channel`` labels the metrics)."""
        channel = items[0].origin.channel if items else "none"
        started = time.perf_counter()
        verdicts = await self.pipeline.submit([item.raw for item in items])
        self._metrics.batch_seconds.labels(channel).observe(time.perf_counter() - started)
        self._metrics.batch_size.labels(channel).observe(len(items))
        self._metrics.count(verdicts)
        for item, verdict in zip(items, verdicts, strict=True):
            _log(verdict, item.origin)
        parked = [
            (v.event_id or "", item.raw.decode(), v.code or "", v.message or "", item.origin)
            for item, v in zip(items, verdicts, strict=True)
            if v.status is VerdictStatus.PARKED
        ]
        await self._parking.park(parked)
        if dead_letter_rejections:
            await self.send_dead_letters(
                [
                    DeadLetter(item.raw, v.code or "rejected", v.message or "", item.origin)
                    for item, v in zip(items, verdicts, strict=True)
                    if v.status is VerdictStatus.REJECTED
                ]
            )
        return verdicts

    async def send_dead_letters(self, letters: Sequence[DeadLetter]) -> None:
        """Dead-letter input that can never be accepted, counted by code."""
        await self._dead_letters.send(letters)
        for letter in letters:
            self._metrics.dead_letters.labels(letter.code).inc()

    async def retry_parked(self) -> RetryReport:
        """Retry parked facts, least recently tried first; dead-letter those whose hold is over."""
        report = RetryReport()
        now = self._clock()
        parked = await self._parking.take(self._retry_batch)
        if not parked:
            return report
        verdicts = await self.pipeline.submit([item.raw for item in parked])
        self._metrics.count(verdicts)
        done: list[str] = []
        again = []
        dead = []
        for item, verdict in zip(parked, verdicts, strict=True):
            code, message = verdict.code or "rejected", verdict.message or ""
            if verdict.status is VerdictStatus.PARKED and now < item.retry_until:
                again.append((item.event_id, item.raw, code, message, item.origin))
                continue
            done.append(item.event_id)
            if verdict.status is VerdictStatus.PARKED:
                message = (
                    f"still waiting after {item.attempts} attempts "
                    f"since {item.parked_at:%Y-%m-%d %H:%M:%S%z}: {message}"
                )
            if verdict.status in (VerdictStatus.PARKED, VerdictStatus.REJECTED):
                dead.append(DeadLetter(item.raw.encode(), code, message, item.origin))
                report.dead_lettered[code] += 1
        await self.send_dead_letters(dead)
        await self._parking.release(done)
        await self._parking.park(again)
        report.released = len(done) - len(dead)
        report.still_parked = len(again)
        return report
