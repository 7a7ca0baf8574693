"""A record batch the Kafka client cannot decode (here: its codec library is missing, as it
was for lz4 before it became a dependency) no longer stops its partition for good: its
offsets are dead-lettered with where they were, and every later record of that partition and
every record of the others is handled, none lost."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka import codec as kafka_codec
from faststream.kafka import KafkaBroker

from shared.dead_letters import DeadLetter
from shared.messaging.batches import Records, subscribe_batches
from tests.infrastructure import Infrastructure, create_topics
from tests.kafka_tools import wait_until

pytestmark = pytest.mark.integration

COMPRESSED = 5


async def produce(
    bootstrap: str, topic: str, compression: str | None, values: list[tuple[int, bytes]]
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, compression_type=compression, linger_ms=50
    )
    try:
        await producer.start()
        sent = [
            await producer.send(topic, value, partition=partition) for partition, value in values
        ]
        for ack in sent:
            await ack
    finally:
        await producer.stop()


async def test_an_undecodable_batch_is_dead_lettered_and_the_partition_goes_on(
    infrastructure: Infrastructure, kafka_topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap, topic = infrastructure.kafka_bootstrap_servers, f"{kafka_topic_prefix}input"
    await create_topics(bootstrap, [topic], partitions=2)
    await produce(bootstrap, topic, "lz4", [(0, f"lz4-{n}".encode()) for n in range(COMPRESSED)])
    await produce(
        bootstrap,
        topic,
        None,
        [(0, b"after-0"), (0, b"after-1"), *((1, f"other-{n}".encode()) for n in range(3))],
    )
    monkeypatch.setattr(kafka_codec, "cramjam", None)
    handled: list[bytes] = []
    letters: list[DeadLetter] = []

    async def handle(records: Records) -> None:
        handled.extend(record.value for record in records)

    async def dead(sent: Sequence[DeadLetter]) -> None:
        letters.extend(sent)

    broker = KafkaBroker(bootstrap)
    subscribe_batches(
        broker,
        topic,
        handle,
        group_id=f"{kafka_topic_prefix}group",
        max_records=100,
        batch_timeout_ms=50,
        dead_letters=dead,
        title="test",
        description="test",
    )
    try:
        await broker.start()

        async def everything_handled() -> bool:
            return {b"after-0", b"after-1", b"other-0", b"other-1", b"other-2"} <= set(handled)

        await wait_until(everything_handled, within=60, what="the records after the bad batch")
    finally:
        await broker.stop()

    assert not any(value.startswith(b"lz4-") for value in handled)
    assert [(d.code, d.origin.partition, d.origin.offset) for d in letters] == [
        ("undecodable_batch", 0, offset) for offset in range(COMPRESSED)
    ]
    assert "UnsupportedCodecError" in letters[0].message
    assert sorted(handled).count(b"other-0") == 1
