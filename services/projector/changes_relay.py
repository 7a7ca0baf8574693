"""Publishes committed progress changes, oldest first, then deletes them.

The sink is Kafka (``progress.changes.v1``, keyed by unit id). Each change carries its
outbox row id as ``sequence``. A change goes out as it was stored, not validated again: the
projector stored ``ProgressChanged.model_dump`` itself, in the transaction of the figures it
reports. Several projector instances relay at once: each claims the rows it publishes
(``shared.persistence.progress_outbox``). A crash between delivery and delete delivers
again; the notifier's unique decision keys make that harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.metrics import ProjectorMetrics
from shared.persistence.progress_outbox import claim
from shared.wakeup import Wakeup

log = logging.getLogger(__name__)


Change = Mapping[str, Any]
"""A stored ``ProgressChanged``, as JSON decoded, with its ``sequence``."""


class ChangeSink(Protocol):
    async def deliver(self, changes: Sequence[Change]) -> None: ...


class KafkaChangeSink:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self._producer = producer
        self._topic = topic

    async def deliver(self, changes: Sequence[Change]) -> None:
        acks = [
            await self._producer.send(
                self._topic, value=to_json(change), key=str(change["unit_id"]).encode()
            )
            for change in changes
        ]
        await asyncio.gather(*acks)


class ChangesRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        sink: ChangeSink,
        metrics: ProjectorMetrics,
        *,
        batch_size: int = 1000,
        idle_seconds: float = 0.1,
        wakeup: Wakeup | None = None,
    ) -> None:
        self.wakeup = wakeup or Wakeup()
        """Woken when a batch with progress changes committed in this process."""
        self._engine = engine
        self._sink = sink
        self._metrics = metrics
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds

    async def relay_once(self) -> int:
        async with claim(self._engine, self._batch_size) as waiting:
            self._metrics.changes_backlog.set(waiting.backlog)
            if waiting.rows:
                await self._sink.deliver([payload for _, payload in waiting.rows])
        self._metrics.changes.inc(len(waiting.rows))
        return len(waiting.rows)

    async def run(self) -> None:
        while True:
            try:
                published = await self.relay_once()
            except Exception:
                log.exception("publishing progress changes failed; retrying")
                published = 0
                await asyncio.sleep(1.0)
            if published < self._batch_size:
                await self.wakeup.pause(self._idle_seconds)
