"""Embedded mode's input: the projector's ``progress_outbox``, drained oldest first.

Without Kafka the projector leaves its committed progress changes in the outbox; here they
are claimed (``shared.persistence.progress_outbox``: on PostgreSQL several notifiers share
the outbox), stamped with their row id as ``sequence``, judged in the decisions' own
transaction, and deleted once it has committed; a failed judgement leaves them for the next
claim. A crash in between judges them again, which the decisions' unique keys make
harmless. A row that is not a valid change is dead-lettered and deleted, so one bad row
never blocks the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.decisions import ChangeJudge, apply_encoded
from services.notifier.metrics import NotifierMetrics
from shared.dead_letters import DeadLetterSink, Origin
from shared.persistence.progress_outbox import claim

log = logging.getLogger(__name__)


class OutboxInput:
    def __init__(
        self,
        engine: AsyncEngine,
        judge: ChangeJudge,
        dead_letters: DeadLetterSink,
        metrics: NotifierMetrics,
        *,
        batch_size: int = 500,
        idle_seconds: float = 0.5,
    ) -> None:
        self._engine = engine
        self._judge = judge
        self._dead_letters = dead_letters
        self._metrics = metrics
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds

    async def drain_once(self) -> int:
        """Judge the oldest waiting changes; returns how many rows were taken."""
        async with claim(self._engine, self._batch_size) as waiting:
            self._metrics.outbox_backlog.set(waiting.backlog)
            records = [
                (
                    json.dumps(payload, ensure_ascii=False).encode(),
                    Origin("outbox", "progress_outbox", detail=f"row {row_id}"),
                )
                for row_id, payload in waiting.rows
            ]
            if records:
                await apply_encoded(self._judge, records, self._dead_letters, self._metrics)
        self._judge.freshness.heard("outbox", waiting.backlog - len(records))
        return len(records)

    async def run(self) -> None:
        while True:
            try:
                taken = await self.drain_once()
            except Exception:
                log.exception("judging progress changes from the outbox failed; retrying")
                taken = 0
                await asyncio.sleep(1.0)
            if taken < self._batch_size:
                await asyncio.sleep(self._idle_seconds)
