"""Small real-Kafka helpers for tests: produce raw records, read a topic back, wait."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord


async def produce(
    bootstrap: str, topic: str, values: Sequence[bytes], keys: Sequence[bytes | None] | None = None
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        await producer.start()
        acks = [
            await producer.send(topic, value=value, key=None if keys is None else keys[i])
            for i, value in enumerate(values)
        ]
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str, topic: str, at_least: int, within: float = 30.0
) -> list[ConsumerRecord[Any, Any]]:
    """Every record of the topic from the start, once at least ``at_least`` arrived."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    records: list[ConsumerRecord[Any, Any]] = []
    deadline = time.monotonic() + within
    try:
        await consumer.start()
        while len(records) < at_least and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                records.extend(batch)
        # whatever else is already there (duplicates, late records) is part of the answer
        for batch in (await consumer.getmany(timeout_ms=500)).values():
            records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def wait_until(
    condition: Callable[[], Awaitable[bool]], within: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.1)
