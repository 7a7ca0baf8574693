"""A FastStream batch subscriber that acknowledges only what was durably handled.

A batch is committed after ``handle`` returns. If it raises (the database is down, say),
every partition of the batch is rewound to its first record and the batch is redelivered
after a pause that doubles up to 30 s: nothing is skipped and the consumer does not spin.
The framework never decodes the bytes; handlers see raw records, so even input that is not
JSON reaches the handler (and from there the dead letters).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0

Records = Sequence[ConsumerRecord[Any, Any]]
LagObserver = Callable[[str, int, int], None]
"""Called with (topic, partition, records not yet consumed) after each batch."""


async def _keep_raw(message: StreamMessage[Any]) -> Any:
    return message.body


def subscribe_batches(
    broker: KafkaBroker,
    topic: str,
    handle: Callable[[Records], Awaitable[None]],
    *,
    group_id: str,
    max_records: int,
    batch_timeout_ms: int,
    observe_lag: LagObserver | None = None,
    title: str,
    description: str,
) -> None:
    failures = 0

    @broker.subscriber(
        topic,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=batch_timeout_ms,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        decoder=_keep_raw,
        title=title,
        description=description,
    )
    async def on_batch(message: KafkaMessage) -> None:
        nonlocal failures
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        try:
            await handle(records)
        except Exception:
            failures += 1
            pause = min(MAX_BACKOFF_SECONDS, 0.5 * 2**failures)
            log.exception(
                "batch failed; it will be redelivered",
                extra={"topic": topic, "records": len(records), "pause_seconds": pause},
            )
            await asyncio.sleep(pause)
            await message.nack()
            return
        failures = 0
        await message.ack()
        if observe_lag is not None:
            _report_lag(message, records, observe_lag)


def _report_lag(message: KafkaMessage, records: Records, observe: LagObserver) -> None:
    last: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        last[key] = max(last.get(key, -1), record.offset)
    for (topic, partition), offset in last.items():
        highwater = message.consumer.highwater(TopicPartition(topic, partition))  # type: ignore[attr-defined]
        if highwater is not None:
            observe(topic, partition, max(0, highwater - offset - 1))
