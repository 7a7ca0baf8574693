"""Sustained ingest throughput: portal events on Kafka → validated → event store → relayed.

    uv run python -m benchmarks.ingest --bootstrap 127.0.0.1:59092 \
        --database-url postgresql://postgres@127.0.0.1:55432/postgres --initiatives 25000

Pre-produces the events, then starts ingest and times until every event is stored and the
outbox is empty (published to initiatives.events.v1). Uses a fresh database and fresh topics.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.ingest.components import IngestComponents, ingest_components
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from services.samples.portal_events import reviewed, small_tree, submitted
from shared.persistence.engine import create_engine
from shared.persistence.migrations import upgrade


async def fresh_database(admin_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(admin_url)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = create_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    await upgrade(engine)
    await engine.dispose()
    return url


async def produce(bootstrap: str, topic: str, events: list[dict[str, object]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, max_batch_size=1 << 20)
    await producer.start()
    try:
        acks = []
        for event in events:
            data = event["data"]
            assert isinstance(data, dict)
            key = str(data.get("initiative_id") or "ref").encode()
            acks.append(await producer.send(topic, json.dumps(event).encode(), key=key))
        await asyncio.gather(*acks)
    finally:
        await producer.stop()


async def ingest_until(settings: IngestSettings, stored: int) -> tuple[float, IngestComponents]:
    """Run ingest until ``stored`` events are in the store and all are published."""
    async with ingest_components(settings) as parts:
        service = IngestService(parts)
        started = time.perf_counter()
        await service.start()
        while (  # noqa: ASYNC110 - polling the database, not a local flag
            await parts.store.last_position() < stored or (await parts.store.outbox_backlog()).size
        ):
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
        await service.stop()
    return elapsed, parts


async def main(admin_url: str, bootstrap: str, initiatives: int, batch_size: int) -> None:
    run = uuid.uuid4().hex[:8]
    settings = IngestSettings(
        database_url=await fresh_database(admin_url),
        kafka_bootstrap_servers=bootstrap,
        input_topic=f"bench-{run}.portal",
        events_topic=f"bench-{run}.events",
        consumer_group=f"bench-{run}",
        batch_size=batch_size,
        relay_batch_size=batch_size,
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics(
        [
            NewTopic(t, 4, 1)
            for t in (settings.input_topic, settings.events_topic, settings.dead_letters)
        ]
    )
    await admin.close()
    reference = small_tree()
    await produce(bootstrap, settings.input_topic, reference)
    await ingest_until(settings, len(reference))
    events = []
    for n in range(initiatives):
        events += [
            submitted(f"b-{n}", f"bk-cdcs-{n % 2 + 1}"),
            reviewed("initiative.approved", f"b-{n}"),
        ]
    await produce(bootstrap, settings.input_topic, events)
    elapsed, parts = await ingest_until(settings, len(reference) + len(events))
    sizes = parts.metrics.batch_size.labels("kafka").collect()[0].samples
    count = sum(sample.value for sample in sizes if sample.name.endswith("_count"))
    total = sum(sample.value for sample in sizes if sample.name.endswith("_sum"))
    print(
        f"ingest: {len(events):,} events in {elapsed:.1f} s = "
        f"{len(events) / elapsed:,.0f} events/s "
        f"(Kafka in → validated → PostgreSQL → Kafka out; batches of up to {batch_size}, "
        f"{total / max(count, 1):,.0f} on average; 4 partitions)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="admin URL; a fresh database is made")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--initiatives", type=int, default=25_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.bootstrap, args.initiatives, args.batch_size))
