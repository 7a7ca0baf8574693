"""The real servers are there and usable: PostgreSQL through SQLAlchemy, Kafka through aiokafka."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.infrastructure import Infrastructure, create_topics, sqlalchemy_url

pytestmark = pytest.mark.integration


async def test_postgres_database_is_fresh_and_writable(
    infrastructure: Infrastructure, postgres_database_url: str
) -> None:
    assert postgres_database_url.startswith("postgresql://")
    assert postgres_database_url != infrastructure.database_url
    engine = create_async_engine(sqlalchemy_url(postgres_database_url))
    try:
        async with engine.begin() as connection:
            assert (await connection.execute(text("select 1"))).scalar_one() == 1
            tables = await connection.execute(
                text("select count(*) from pg_tables where schemaname = 'public'")
            )
            assert tables.scalar_one() == 0
            await connection.execute(text("create table note (id int primary key, body text)"))
            await connection.execute(
                text("insert into note (id, body) values (:id, :body)"),
                [{"id": 1, "body": "one"}, {"id": 2, "body": "two"}],
            )
        async with engine.connect() as connection:
            rows = await connection.execute(text("select id, body from note order by id"))
            assert rows.all() == [(1, "one"), (2, "two")]
            version = await connection.execute(text("show server_version"))
            assert version.scalar_one().split()[0] == infrastructure.postgres_version
    finally:
        await engine.dispose()


async def test_kafka_round_trip(infrastructure: Infrastructure, kafka_topic_prefix: str) -> None:
    bootstrap = infrastructure.kafka_bootstrap_servers
    topic = f"{kafka_topic_prefix}round-trip"
    await create_topics(bootstrap, [topic], partitions=2)

    sent = [(f"key-{i}".encode(), f"value-{i}-{uuid.uuid4().hex}".encode()) for i in range(5)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        await producer.start()
        for key, value in sent:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{kafka_topic_prefix}group",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    received: list[tuple[bytes | None, bytes | None]] = []
    try:
        await consumer.start()
        async with asyncio.timeout(30):
            while len(received) < len(sent):
                batches = await consumer.getmany(timeout_ms=1000)
                received.extend(
                    (record.key, record.value) for records in batches.values() for record in records
                )
        await consumer.commit()
    finally:
        await consumer.stop()
    assert sorted(received) == sorted(sent)
