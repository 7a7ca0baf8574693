"""The long-running parts of ingest: the Kafka door, the outbox relay, parked-fact retries.

Kept apart from the HTTP server so tests (and the one-process demo) can run them inside
another event loop and stop them at will, as a crash or a deploy would.
"""

from __future__ import annotations

import asyncio
import logging

from faststream.kafka import KafkaBroker

from services.ingest.components import IngestComponents
from services.ingest.kafka_input import subscribe_portal_events
from services.ingest.relay import OutboxRelay
from shared.lifecycle import BackgroundTasks, drain

log = logging.getLogger(__name__)


class IngestService:
    def __init__(self, parts: IngestComponents) -> None:
        self._parts = parts
        self.broker: KafkaBroker | None = None
        self.relay: OutboxRelay | None = None
        self._tasks = BackgroundTasks(parts.metrics.task_restarts)

    async def start(self) -> None:
        parts, settings = self._parts, self._parts.settings
        if settings.kafka_bootstrap_servers is not None and parts.producer is not None:
            self.relay = OutboxRelay(
                parts.store,
                parts.producer,
                settings.events_topic,
                parts.metrics,
                batch_size=settings.relay_batch_size,
                idle_seconds=settings.relay_idle_seconds,
                wakeup=parts.store.appended,
            )
            self._tasks.start(self.relay.run, name="outbox-relay")
            self.broker = KafkaBroker(
                settings.kafka_bootstrap_servers, client_id="initiatives-ingest", logger=log
            )
            subscribe_portal_events(self.broker, parts.intake, settings, parts.metrics)
            await self.broker.start()
        self._tasks.start(self._retry_parked, name="parked-retries")

    async def stop(self) -> None:
        if self.broker is not None:
            await self.broker.stop()
        await self._tasks.stop()
        if self.relay is not None:
            await drain(self.relay.relay_once)

    async def _retry_parked(self) -> None:
        interval = self._parts.settings.park_retry_interval_seconds
        while True:
            await asyncio.sleep(interval)
            try:
                report = await self._parts.intake.retry_parked()
                summary = await self._parts.parking.summary()
                self._parts.metrics.parked.set(summary.size)
                if report.released or report.dead_lettered:
                    log.info(
                        "parked facts retried",
                        extra={
                            "released": report.released,
                            "dead_lettered": dict(report.dead_lettered),
                            "still_parked": report.still_parked,
                        },
                    )
            except Exception:
                log.exception("retrying parked facts failed")
