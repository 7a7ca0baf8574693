"""Publishing many keyed messages at once: one record batch per partition, not a send each.

aiokafka's ``send`` spends tens of microseconds of Python per record (partitioner, future,
accumulator). Here each partition gets its messages appended to a record batch in order, and
its batches are queued one after the other, so a key keeps its order. Partitions are chosen as
``send`` chooses them (murmur2 of the key, like the Java client), so a key lands on the same
partition whichever way it was sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

Message = tuple[bytes, bytes]
"""(key, value)"""

_partition_of = DefaultPartitioner()


async def publish_keyed(
    producer: AIOKafkaProducer, topic: str, messages: Sequence[Message]
) -> None:
    """Publish ``messages``; returns once the broker acknowledged every one of them."""
    partitions = sorted(await producer.partitions_for(topic))
    by_partition: dict[int, list[Message]] = {}
    for message in messages:
        partition = _partition_of(message[0], partitions, partitions)
        by_partition.setdefault(partition, []).append(message)
    await asyncio.gather(
        *(_publish(producer, topic, partition, part) for partition, part in by_partition.items())
    )


async def _publish(
    producer: AIOKafkaProducer, topic: str, partition: int, messages: list[Message]
) -> None:
    """One partition's messages in order, in as few record batches as fit."""
    acks = []
    batch = producer.create_batch()
    for key, value in messages:
        if batch.append(key=key, value=value, timestamp=None) is None:
            acks.append(await producer.send_batch(batch, topic, partition=partition))
            batch = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)
    acks.append(await producer.send_batch(batch, topic, partition=partition))
    await asyncio.gather(*acks)
