"""The outbox relay: publishes appended events to Kafka, then forgets them.

Keyed by stream id, so one initiative's events share a partition and keep their order.
A row leaves the outbox only after the broker acknowledged it (acks=all), so a crash in
between publishes it again on restart: duplicates are possible (consumers dedupe by
stream version), gaps and reorders within a stream are not, because every pass publishes
the oldest unpublished rows in position order.
"""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import AIOKafkaProducer

from services.ingest.metrics import IngestMetrics
from shared.clock import Clock, utc_now
from shared.eventstore.port import EventStore
from shared.messaging.keyed import publish_keyed
from shared.wakeup import Wakeup

log = logging.getLogger(__name__)

BACKLOG_EVERY_SECONDS = 1.0


class OutboxRelay:
    def __init__(
        self,
        store: EventStore,
        producer: AIOKafkaProducer,
        topic: str,
        metrics: IngestMetrics,
        *,
        batch_size: int = 1000,
        idle_seconds: float = 0.05,
        clock: Clock = utc_now,
        wakeup: Wakeup | None = None,
    ) -> None:
        """``wakeup`` ends the idle pause when the store appended in this process."""
        self._store = store
        self._producer = producer
        self._topic = topic
        self._metrics = metrics
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._wakeup = wakeup or Wakeup()

    async def relay_once(self) -> int:
        """Publish the oldest unpublished events; the number published."""
        batch = await self._store.outbox_batch(self._batch_size)
        if not batch:
            return 0
        await publish_keyed(
            self._producer, self._topic, [(m.stream_id.encode(), m.wire) for m in batch]
        )
        await self._store.mark_published([m.position for m in batch])
        self._metrics.published.inc(len(batch))
        return len(batch)

    async def observe_backlog(self) -> None:
        backlog = await self._store.outbox_backlog()
        self._metrics.outbox_backlog.set(backlog.size)
        age = 0.0 if backlog.oldest is None else (self._clock() - backlog.oldest).total_seconds()
        self._metrics.outbox_oldest_age.set(max(age, 0.0))

    async def run(self) -> None:
        """Relay until cancelled; a failing pass is logged and retried after a pause.

        The backlog gauges are read from the database at most every ``BACKLOG_EVERY_SECONDS``
        while there is work (the count is a query of its own), and set to zero whenever a pass
        finds the outbox empty."""
        observed = -BACKLOG_EVERY_SECONDS
        while True:
            try:
                published = await self.relay_once()
                if not published:
                    self._metrics.outbox_backlog.set(0)
                    self._metrics.outbox_oldest_age.set(0.0)
                elif time.monotonic() - observed >= BACKLOG_EVERY_SECONDS:
                    observed = time.monotonic()
                    await self.observe_backlog()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                published = 0
                await asyncio.sleep(1.0)
            if published < self._batch_size:
                await self._wakeup.pause(self._idle_seconds)
