"""The Kafka door: a batch subscriber on the portal topic with manual acknowledgement.

A batch is acknowledged only after every record in it is appended, parked or
dead-lettered. If that fails (the database is down, say) the batch is rewound with a
growing pause, so nothing is skipped and the consumer does not spin.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage

from services.ingest.dead_letters import Origin
from services.ingest.intake import Incoming, Intake
from services.ingest.settings import IngestSettings

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0


async def _keep_raw(message: StreamMessage[Any]) -> Any:
    """Never let the framework parse portal bytes: malformed input must reach our DLQ."""
    return message.body


def incoming(record: ConsumerRecord[Any, Any]) -> Incoming:
    return Incoming(
        raw=record.value or b"",
        origin=Origin("kafka", record.topic, record.partition, record.offset),
    )


def subscribe_portal_events(broker: KafkaBroker, intake: Intake, settings: IngestSettings) -> None:
    failures = 0

    @broker.subscriber(
        settings.input_topic,
        group_id=settings.consumer_group,
        batch=True,
        max_records=settings.batch_size,
        batch_timeout_ms=settings.batch_timeout_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=_keep_raw,
        title="portal events",
        description="Facts from upstream portals (see docs/contracts.md)",
    )
    async def on_portal_events(message: KafkaMessage) -> None:
        nonlocal failures
        records = message.raw_message
        batch = records if isinstance(records, tuple) else (records,)
        try:
            await intake.receive(
                [incoming(record) for record in batch], dead_letter_rejections=True
            )
        except Exception:
            failures += 1
            pause = min(MAX_BACKOFF_SECONDS, 0.5 * 2**failures)
            log.exception(
                "batch failed; it will be redelivered",
                extra={"records": len(batch), "pause_seconds": pause},
            )
            await asyncio.sleep(pause)
            await message.nack()
            return
        failures = 0
        await message.ack()
