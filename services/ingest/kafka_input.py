"""The Kafka door: portal events in batches, acknowledged once appended, parked or
dead-lettered (see ``shared.messaging.batches`` for the acknowledgement rules)."""

from __future__ import annotations

from typing import Any

from aiokafka import ConsumerRecord
from faststream.kafka import KafkaBroker

from services.ingest.intake import Incoming, Intake
from services.ingest.metrics import IngestMetrics
from services.ingest.settings import IngestSettings
from shared.dead_letters import Origin
from shared.messaging.batches import Records, subscribe_batches


def incoming(record: ConsumerRecord[Any, Any]) -> Incoming:
    return Incoming(raw=record.value or b"", origin=Origin.of_record(record))


def subscribe_portal_events(
    broker: KafkaBroker, intake: Intake, settings: IngestSettings, metrics: IngestMetrics
) -> None:
    async def handle(records: Records) -> None:
        await intake.receive([incoming(record) for record in records], dead_letter_rejections=True)

    subscribe_batches(
        broker,
        settings.input_topic,
        handle,
        group_id=settings.consumer_group,
        max_records=settings.batch_size,
        batch_timeout_ms=settings.batch_timeout_ms,
        observe_lag=lambda topic, partition, lag: metrics.lag.labels(topic, str(partition)).set(
            lag
        ),
        dead_letters=intake.send_dead_letters,
        title="portal events",
        description="Facts from upstream portals (see docs/contracts.md)",
    )
