"""The projector's long-running parts: Kafka consumer and changes relay, or, embedded, the
event-store tailer. Changes are left in the outbox in embedded mode for the in-process
notifier to drain."""

from __future__ import annotations

import logging

from faststream.kafka import KafkaBroker

from services.projector.changes_relay import ChangesRelay, KafkaChangeSink
from services.projector.components import ProjectorComponents
from services.projector.kafka_input import subscribe_recorded_events
from services.projector.tailer import StoreTailer
from shared.dead_letters import KafkaDeadLetters
from shared.lifecycle import BackgroundTasks, drain

log = logging.getLogger(__name__)


def store_tailer(parts: ProjectorComponents) -> StoreTailer:
    """The embedded input: the event store followed from the read models' checkpoint."""
    settings = parts.settings
    return StoreTailer(
        parts.engine,
        parts.store,
        parts.projection,
        parts.metrics,
        batch_size=settings.batch_size,
        interval_seconds=settings.tail_interval_seconds,
    )


class ProjectorService:
    def __init__(self, parts: ProjectorComponents) -> None:
        self._parts = parts
        self.broker: KafkaBroker | None = None
        self.tailer: StoreTailer | None = None
        self.relay: ChangesRelay | None = None
        self._tasks = BackgroundTasks(parts.metrics.task_restarts)

    async def start(self) -> None:
        parts, settings = self._parts, self._parts.settings
        if settings.kafka_bootstrap_servers is None or parts.producer is None:
            self.tailer = store_tailer(parts)
            self._tasks.start(self.tailer.run, name="store-tailer")
            return
        self.relay = ChangesRelay(
            parts.engine,
            KafkaChangeSink(parts.producer, settings.changes_topic),
            parts.metrics,
            idle_seconds=settings.relay_idle_seconds,
        )
        self._tasks.start(self.relay.run, name="changes-relay")
        self.broker = KafkaBroker(
            settings.kafka_bootstrap_servers, client_id="initiatives-projector", logger=log
        )
        dead_letters = KafkaDeadLetters(parts.producer, f"{settings.events_topic}.dlq")
        subscribe_recorded_events(
            self.broker,
            parts.projection,
            settings,
            parts.metrics,
            dead_letters,
            changes_committed=self.relay.wakeup.wake,
        )
        await self.broker.start()

    async def stop(self) -> None:
        if self.broker is not None:
            await self.broker.stop()
        await self._tasks.stop()
        if self.relay is not None:
            await drain(self.relay.relay_once)
