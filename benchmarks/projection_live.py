"""Live projection throughput: recorded events on Kafka → projector → read models.

    uv run python -m benchmarks.projection_live --scale 0.02 --bootstrap 127.0.0.1:59092 \\
        --database-url postgresql://postgres@127.0.0.1:55432/postgres

Loads the workload into a fresh event store, publishes it to a fresh topic with the outbox
relay, then starts the projector and times it until every event is applied.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from benchmarks.read_side import fresh_database
from services.ingest.metrics import IngestMetrics
from services.ingest.relay import OutboxRelay
from services.projector.components import projector_components
from services.projector.service import ProjectorService
from services.projector.settings import ProjectorSettings
from services.samples.national import generate
from shared.contracts.portal import decode_portal_event
from shared.contracts.recorded import NewEvent
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from shared.persistence.migrations import upgrade
from shared.persistence.schema import events, rm_initiative_history


async def main(admin_url: str, bootstrap: str, scale: float, partitions: int) -> None:
    url = await fresh_database(admin_url)
    topic = f"bench-{uuid.uuid4().hex[:8]}.events"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, partitions, 1), NewTopic(f"{topic}.dlq", 1, 1)])
    await admin.close()
    engine = create_engine(url)
    await upgrade(engine)
    store = SqlEventStore(engine)
    batch: list[NewEvent] = []
    for event in generate(scale):
        batch.append(NewEvent.from_portal(decode_portal_event(event)))
        if len(batch) == 5000:
            await store.append(batch)
            batch = []
    await store.append(batch)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    relay = OutboxRelay(store, producer, topic, IngestMetrics(), batch_size=5000)
    while await relay.relay_once():
        pass
    await producer.stop()
    async with engine.connect() as connection:
        facts = int(
            await connection.scalar(
                sa.select(sa.func.count())
                .select_from(events)
                .where(events.c.stream_id != "reference")
            )
            or 0
        )
    settings = ProjectorSettings(
        database_url=url,
        kafka_bootstrap_servers=bootstrap,
        events_topic=topic,
        changes_topic=f"{topic}.changes",
        consumer_group=f"{topic}.projector",
    )
    async with projector_components(settings) as parts:
        service = ProjectorService(parts)
        started = time.perf_counter()
        await service.start()
        while True:
            async with engine.connect() as connection:
                applied = await connection.scalar(
                    sa.select(sa.func.count()).select_from(rm_initiative_history)
                )
            if (applied or 0) >= facts:
                break
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - started
        await service.stop()
    await engine.dispose()
    print(
        f"live projection: {facts:,} events in {elapsed:.1f} s = {facts / elapsed:,.0f} events/s "
        f"({partitions} partitions, batches of {settings.batch_size})"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="admin URL; a fresh database is made")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.bootstrap, args.scale, args.partitions))
