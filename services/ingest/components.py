"""Ingest's composition root: settings in, wired adapters out. Nothing connects at import.

With ``KAFKA_BOOTSTRAP_SERVERS`` set, dead letters go to the DLQ topic and the relay
publishes the outbox; without it (the embedded default) dead letters go to a table and the
store keeps no outbox, because the projector tails the event store in the same process.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.intake import Intake
from services.ingest.metrics import IngestMetrics
from services.ingest.parking import ParkingLot
from services.ingest.pipeline import IngestPipeline
from services.ingest.plausibility import OccurredWithin
from services.ingest.settings import IngestSettings
from shared.clock import Clock, utc_now
from shared.dead_letters import DeadLetterSink, KafkaDeadLetters, SqlDeadLetters
from shared.eventstore.port import EventStore
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from shared.persistence.migrations import ensure_migrated


@dataclass
class IngestComponents:
    settings: IngestSettings
    engine: AsyncEngine
    store: SqlEventStore
    intake: Intake
    parking: ParkingLot
    metrics: IngestMetrics
    producer: AIOKafkaProducer | None


MAX_BATCH_BYTES = 512 * 1024
"""A relay pass of 1,000 events fits one record batch per partition (aiokafka's 16 KiB
default would make it a round trip per 16 KiB); below the broker's 1 MiB message limit."""


def kafka_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    """Durable publishing: every in-sync replica acknowledges, retries never duplicate."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id="initiatives-ingest",
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=MAX_BATCH_BYTES,
    )


def ingest_pipeline(store: EventStore, settings: IngestSettings, clock: Clock) -> IngestPipeline:
    """The pipeline with the configured limits (also over a dry-run store, for ``--dry-run``)."""
    return IngestPipeline(
        store,
        max_event_bytes=settings.max_event_bytes,
        occurred=OccurredWithin(
            settings.earliest_occurred_at, dt.timedelta(seconds=settings.clock_skew_seconds), clock
        ),
    )


@asynccontextmanager
async def ingest_components(
    settings: IngestSettings,
    *,
    engine: AsyncEngine | None = None,
    metrics: IngestMetrics | None = None,
    clock: Clock = utc_now,
) -> AsyncIterator[IngestComponents]:
    """Open everything ingest needs; refuses an un-migrated database."""
    own_engine = engine is None
    # No ping before each use (three round trips per checkout, several checkouts a batch):
    # a batch that meets a dropped connection fails, the pool is renewed, and the batch is
    # redelivered (Kafka) or the caller told to retry (HTTP).
    engine = engine or create_engine(settings.database_url, pool_pre_ping=False)
    producer = None
    try:
        await ensure_migrated(engine)
        metrics = metrics or IngestMetrics()
        kafka = settings.kafka_bootstrap_servers
        store = SqlEventStore(engine, clock, outbox=kafka is not None)
        dead_letters: DeadLetterSink
        if kafka is None:
            dead_letters = SqlDeadLetters(engine, clock)
        else:
            producer = kafka_producer(kafka)
            await producer.start()
            dead_letters = KafkaDeadLetters(producer, settings.dead_letters, clock)
        parking = ParkingLot(engine, dt.timedelta(seconds=settings.park_hold_seconds), clock)
        intake = Intake(
            ingest_pipeline(store, settings, clock), parking, dead_letters, metrics, clock
        )
        yield IngestComponents(settings, engine, store, intake, parking, metrics, producer)
    finally:
        if producer is not None:
            await producer.stop()
        if own_engine:
            await engine.dispose()
