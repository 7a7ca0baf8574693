"""Input from any door, handled the same way: decide, then park or dead-letter what is left.

Kafka and file input dead-letter their rejections (nobody is waiting for an answer);
HTTP callers get the rejection in the response instead. Parked facts are retried by
:meth:`Intake.retry_parked` and dead-lettered when their hold expires.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from services.ingest.metrics import IngestMetrics
from services.ingest.parking import ParkedEvent, ParkingLot
from services.ingest.pipeline import IngestPipeline
from services.ingest.verdicts import Verdict, VerdictStatus
from shared.clock import Clock, utc_now
from shared.dead_letters import DeadLetter, DeadLetterSink, Origin

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


class Fate(StrEnum):
    """What a retry did with a parked fact."""

    RELEASED = "released"
    """Accepted now, or a duplicate of an event stored since: it left the lot."""
    WAITING = "still parked"
    DEAD_LETTERED = "dead-lettered"
    """Refused for good, or still waiting when its hold was over."""


class Retried(NamedTuple):
    parked: ParkedEvent
    verdict: Verdict
    fate: Fate
    letter: DeadLetter | None
    """The dead letter sent when ``fate`` is ``DEAD_LETTERED``."""


def judge_retry(parked: ParkedEvent, verdict: Verdict, now: dt.datetime) -> Retried:
    """A retried fact's fate; also what ``--dry-run`` reports, from a dry pipeline's verdict."""
    if verdict.status in (VerdictStatus.ACCEPTED, VerdictStatus.DUPLICATE):
        return Retried(parked, verdict, Fate.RELEASED, None)
    code, message = verdict.code or "rejected", verdict.message or ""
    if verdict.status is VerdictStatus.PARKED:
        if now < parked.retry_until:
            return Retried(parked, verdict, Fate.WAITING, None)
        message = (
            f"still waiting after {parked.attempts} attempts "
            f"since {parked.parked_at:%Y-%m-%d %H:%M:%S%z}: {message}"
        )
    letter = DeadLetter(parked.raw.encode(), code, message, parked.origin)
    return Retried(parked, verdict, Fate.DEAD_LETTERED, letter)


@dataclass
class RetryReport:
    tried: list[Retried] = field(default_factory=list)

    def _with(self, fate: Fate) -> list[Retried]:
        return [retried for retried in self.tried if retried.fate is fate]

    @property
    def released(self) -> int:
        return len(self._with(Fate.RELEASED))

    @property
    def still_parked(self) -> int:
        return len(self._with(Fate.WAITING))

    @property
    def dead_lettered(self) -> Counter[str]:
        return Counter(r.letter.code for r in self._with(Fate.DEAD_LETTERED) if r.letter)


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
        return await self.retry(await self._parking.take(self._retry_batch))

    async def retry(self, parked: Sequence[ParkedEvent]) -> RetryReport:
        """Decide these parked facts again now: release what fits, park again (with the new
        reason) what still waits, dead-letter what is refused or waited out its hold."""
        if not parked:
            return RetryReport()
        now = self._clock()
        verdicts = await self.pipeline.submit([item.raw for item in parked])
        self._metrics.count(verdicts)
        report = RetryReport(
            [
                judge_retry(item, verdict, now)
                for item, verdict in zip(parked, verdicts, strict=True)
            ]
        )
        await self.send_dead_letters([r.letter for r in report.tried if r.letter is not None])
        await self._parking.release(
            [r.parked.event_id for r in report.tried if r.fate is not Fate.WAITING]
        )
        await self._parking.park(
            [
                (
                    r.parked.event_id,
                    r.parked.raw,
                    r.verdict.code or "",
                    r.verdict.message or "",
                    r.parked.origin,
                )
                for r in report.tried
                if r.fate is Fate.WAITING
            ]
        )
        return report
