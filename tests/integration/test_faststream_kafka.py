"""FastStream talks to the real broker: publish, consume, and commit only on manual ack."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from tests.infrastructure import Infrastructure, create_topics

pytestmark = pytest.mark.integration


async def committed_offset(bootstrap: str, group: str, topic: str) -> int | None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    meta = offsets.get(TopicPartition(topic, 0))
    return None if meta is None else int(meta.offset)


async def test_a_message_round_trips_and_its_offset_is_committed_only_after_ack(
    infrastructure: Infrastructure, kafka_topic_prefix: str
) -> None:
    topic, group = f"{kafka_topic_prefix}roundtrip", f"{kafka_topic_prefix}group"
    await create_topics(infrastructure.kafka_bootstrap_servers, [topic])
    broker = KafkaBroker(infrastructure.kafka_bootstrap_servers)
    received: asyncio.Queue[tuple[dict[str, str], KafkaMessage]] = asyncio.Queue()

    @broker.subscriber(
        topic, group_id=group, ack_policy=AckPolicy.MANUAL, auto_offset_reset="earliest"
    )
    async def handle(body: dict[str, str], message: KafkaMessage) -> None:
        await received.put((body, message))

    async with broker:
        await broker.start()
        await broker.publish({"sáng kiến": "Ba Chẽ"}, topic, key=b"unit-bache")
        body, message = await asyncio.wait_for(received.get(), timeout=30)
        before_ack = await committed_offset(infrastructure.kafka_bootstrap_servers, group, topic)
        await message.ack()
        after_ack = await committed_offset(infrastructure.kafka_bootstrap_servers, group, topic)

    assert body == {"sáng kiến": "Ba Chẽ"}
    assert message.raw_message.key == b"unit-bache"  # type: ignore[union-attr]
    assert before_ack is None
    assert after_ack == 1
