"""A database holding the national workload, and the same events on an ``initiatives.events``
topic, as the read-side benchmarks (live projection, rebuild, query API) need them.

Setting it up costs more than some of those benchmarks, so ``initiatives bench all`` makes it
once and hands it to each in turn: live projection fills the read models, rebuild replaces
them, and the query API reads them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from benchmarks.bench import Bench
from benchmarks.servers import fresh_database, fresh_topics, topic_prefix
from benchmarks.workload import Workload, append_to_store
from services.ingest.metrics import IngestMetrics
from services.ingest.relay import OutboxRelay
from shared.config import async_database_url
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine

PARTITIONS = 4


@dataclass
class NationalDatabase:
    url: str
    """``postgresql://`` URL of the database."""
    events_topic: str
    events: int
    """Events in the store, and records on the topic."""
    initiative_facts: int
    """Of those, the facts about initiatives (what the projector counts as applied)."""
    seconds_to_load: float
    read_models_built: bool = False
    """Whether the read models hold the workload (after live projection or a rebuild)."""


async def _relay_all(url: str, bootstrap: str, topic: str) -> None:
    engine = create_engine(async_database_url(url))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    try:
        await producer.start()
        relay = OutboxRelay(
            SqlEventStore(engine), producer, topic, IngestMetrics(), batch_size=5000
        )
        while await relay.relay_once():
            pass
    finally:
        await producer.stop()
        await engine.dispose()


@asynccontextmanager
async def national_database(bench: Bench) -> AsyncIterator[NationalDatabase]:
    topic = f"{topic_prefix()}events"
    async with (
        fresh_database(bench.servers) as url,
        fresh_topics(bench.servers, [topic, f"{topic}.changes"], PARTITIONS),
    ):
        bench.console.print(f"loading the national workload at scale {bench.scale} …")
        started = time.perf_counter()
        workload = Workload.at(bench.scale)
        events = await append_to_store(url, workload.all, outbox=True)
        await _relay_all(url, bench.servers.kafka_bootstrap_servers, topic)
        loaded = time.perf_counter() - started
        yield NationalDatabase(url, topic, events, len(workload.activity), loaded)
