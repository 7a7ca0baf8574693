"""A FastStream batch subscriber that acknowledges only what was durably handled.

A batch is committed after ``handle`` returns. If it raises (the database is down, say),
every partition of the batch is rewound to its first record and the batch is redelivered
after a pause that doubles up to 30 s: nothing is skipped and the consumer does not spin.
The framework never decodes the bytes; handlers see raw records, so even input that is not
JSON reaches the handler (and from there the dead letters).

A record batch the Kafka client cannot decode at all (a codec it lacks, a corrupt batch) would
stop its partition for good: FastStream retries the fetch forever. Such a batch is stepped
over offset by offset instead, each offset dead-lettered with where it was, and every other
partition goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CorruptRecordException, UnsupportedCodecError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage

from shared.dead_letters import DeadLetter, Origin
from shared.failures import reason
from shared.lifecycle import Backoff

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
UNDECODABLE = (UnsupportedCodecError, CorruptRecordException)
PROBE_MS = 500
"""How long a partition is read alone while looking for the undecodable batch."""

Records = Sequence[ConsumerRecord[Any, Any]]
LagObserver = Callable[[str, int, int], None]
"""Called with (topic, partition, records not yet consumed) after each batch."""
SendLetters = Callable[[Sequence[DeadLetter]], Awaitable[None]]


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
    dead_letters: SendLetters,
    title: str,
    description: str,
) -> None:
    pauses = Backoff(FIRST_PAUSE_SECONDS, MAX_BACKOFF_SECONDS)
    subscriber = broker.subscriber(
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
    fetch = subscriber.get_msg

    async def fetch_stepping_over_undecodable(consumer: AIOKafkaConsumer) -> Any:
        try:
            return await fetch(consumer)
        except UNDECODABLE as error:
            letters = await _step_over_undecodable(consumer, error)
            log.error(
                "undecodable record batch stepped over; its offsets are dead-lettered",
                extra={"topic": topic, "offsets": len(letters), "reason": reason(error)},
            )
            await dead_letters(letters)
            return ()

    subscriber.get_msg = fetch_stepping_over_undecodable  # type: ignore[method-assign]

    @subscriber
    async def on_batch(message: KafkaMessage) -> None:
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        try:
            await handle(records)
        except Exception:
            pause = pauses.next()
            log.exception(
                "batch failed; it will be redelivered",
                extra={"topic": topic, "records": len(records), "pause_seconds": pause},
            )
            await asyncio.sleep(pause)
            await message.nack()
            return
        pauses.reset()
        await message.ack()
        if observe_lag is not None:
            _report_lag(message, records, observe_lag)


async def _step_over_undecodable(
    consumer: AIOKafkaConsumer, error: BaseException
) -> list[DeadLetter]:
    """Read each assigned partition alone, from its last committed offset, to find the ones
    that cannot be decoded, and move past their bad offsets one at a time (the broker answers
    a fetch at any offset of a batch with the whole batch); every partition is left at its
    first readable offset. Starting from the commits matters: the failed fetch may already
    have moved other partitions past records no handler has seen."""
    letters = []
    for tp in sorted(consumer.assignment()):
        committed = await consumer.committed(tp)
        offset = (
            committed if committed is not None else (await consumer.beginning_offsets([tp]))[tp]
        )
        consumer.seek(tp, offset)
        end = consumer.highwater(tp)
        while True:
            try:
                await consumer.getmany(tp, timeout_ms=PROBE_MS, max_records=1)
            except UNDECODABLE as again:
                letters.append(
                    DeadLetter(
                        b"",
                        "undecodable_batch",
                        f"the record batch cannot be decoded: {reason(again)}",
                        Origin("kafka", tp.topic, tp.partition, offset),
                    )
                )
                offset += 1
                consumer.seek(tp, offset)
                if end is not None and offset >= end:
                    break
                continue
            consumer.seek(tp, offset)
            break
    if not letters:
        raise error
    return letters


def _report_lag(message: KafkaMessage, records: Records, observe: LagObserver) -> None:
    last: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        last[key] = max(last.get(key, -1), record.offset)
    for (topic, partition), offset in last.items():
        highwater = message.consumer.highwater(TopicPartition(topic, partition))  # type: ignore[attr-defined]
        if highwater is not None:
            observe(topic, partition, max(0, highwater - offset - 1))
