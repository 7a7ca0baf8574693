"""The projector's Kafka door: recorded events in batches, applied in one transaction each.

Records that are not a recorded event go to ``<topic>.dlq`` once the rest of their batch is
committed; the consumer goes on.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from faststream.kafka import KafkaBroker
from pydantic import ValidationError

from services.projector.metrics import ProjectorMetrics
from services.projector.projection import Projection
from services.projector.settings import ProjectorSettings
from shared.contracts.portal import describe
from shared.contracts.recorded import RecordedEvent
from shared.dead_letters import DeadLetter, DeadLetterSink, Origin
from shared.eventstore.port import utc_now
from shared.messaging.batches import Records, subscribe_batches


def subscribe_recorded_events(
    broker: KafkaBroker,
    projection: Projection,
    settings: ProjectorSettings,
    metrics: ProjectorMetrics,
    dead_letters: DeadLetterSink,
    changes_committed: Callable[[], None],
) -> None:
    """``changes_committed`` is called after a batch that stored progress changes."""

    async def handle(records: Records) -> None:
        events: list[RecordedEvent] = []
        letters: list[DeadLetter] = []
        for record in records:
            try:
                events.append(RecordedEvent.from_wire(record.value or b""))
            except ValidationError as error:
                letters.append(
                    DeadLetter(
                        record.value or b"",
                        "undecodable",
                        describe(error),
                        Origin.of_record(record),
                    )
                )
        started = time.perf_counter()
        outcome = await projection.apply(events)
        if outcome.changes:
            changes_committed()
        metrics.observe(outcome, len(records), time.perf_counter() - started)
        if events:
            newest = max(event.recorded_at for event in events)
            metrics.freshness.set((utc_now() - newest).total_seconds())
        await dead_letters.send(letters)
        metrics.undecodable.inc(len(letters))

    subscribe_batches(
        broker,
        settings.events_topic,
        handle,
        group_id=settings.consumer_group,
        max_records=settings.batch_size,
        batch_timeout_ms=settings.batch_timeout_ms,
        observe_lag=lambda topic, partition, lag: metrics.lag.labels(topic, str(partition)).set(
            lag
        ),
        title="recorded events",
        description="Every accepted fact, in order per stream (see docs/contracts.md)",
    )
