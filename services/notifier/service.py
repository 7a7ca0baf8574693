"""The notifier's long-running parts: the input of progress changes (Kafka, or embedded the
projector's outbox), the clock, and the delivery worker.

Kept apart from the HTTP server so tests (and the one-process demo) can run them inside
another event loop and stop them at will, as a crash or a deploy would.
"""

from __future__ import annotations

import logging

from faststream.kafka import KafkaBroker

from services.notifier.components import NotifierComponents
from services.notifier.decisions import apply_encoded
from services.notifier.outbox_input import OutboxInput
from shared.dead_letters import Origin
from shared.lifecycle import BackgroundTasks
from shared.messaging.batches import Records, subscribe_batches

log = logging.getLogger(__name__)


class NotifierService:
    def __init__(self, parts: NotifierComponents) -> None:
        self._parts = parts
        self.broker: KafkaBroker | None = None
        self._tasks = BackgroundTasks(parts.metrics.task_restarts)

    async def start(self) -> None:
        parts, settings = self._parts, self._parts.settings
        self._tasks.start(parts.deadlines.run, name="notifier-clock")
        self._tasks.start(parts.worker.run, name="delivery-worker")
        if settings.kafka_bootstrap_servers is None:
            outbox = OutboxInput(
                parts.engine,
                parts.judge,
                parts.dead_letters,
                parts.metrics,
                batch_size=settings.batch_size,
                idle_seconds=settings.outbox_interval_seconds,
            )
            self._tasks.start(outbox.run, name="progress-outbox")
            return
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers, client_id="initiatives-notifier", logger=log
        )
        self._subscribe(self.broker)
        await self.broker.start()

    async def stop(self) -> None:
        if self.broker is not None:
            await self.broker.stop()
        await self._tasks.stop()

    def _subscribe(self, broker: KafkaBroker) -> None:
        parts, settings = self._parts, self._parts.settings

        async def handle(records: Records) -> None:
            await apply_encoded(
                parts.judge,
                [(record.value or b"", Origin.of_record(record)) for record in records],
                parts.dead_letters,
                parts.metrics,
            )

        def observe_lag(topic: str, partition: int, lag: int) -> None:
            parts.metrics.lag.labels(topic, str(partition)).set(lag)
            parts.judge.freshness.heard(f"{topic}/{partition}", lag)

        subscribe_batches(
            broker,
            settings.changes_topic,
            handle,
            group_id=settings.consumer_group,
            max_records=settings.batch_size,
            batch_timeout_ms=settings.batch_timeout_ms,
            observe_lag=observe_lag,
            dead_letters=parts.dead_letters.send,
            title="progress changes",
            description="A unit's figures moved (shared.contracts.progress.ProgressChanged)",
        )
