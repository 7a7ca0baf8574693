"""Ingest's composition root: settings and a transport in, wired adapters out. Nothing
connects at import.

The transport decides where dead letters go (the DLQ topic, or the embedded default's table)
and whether the store keeps an outbox for the relay (on Kafka; in process the projector tails
the event store itself).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.intake import Intake
from services.ingest.metrics import IngestMetrics
from services.ingest.parking import ParkingLot
from services.ingest.pipeline import IngestPipeline
from services.ingest.plausibility import OccurredWithin
from services.ingest.settings import IngestSettings
from shared.clock import Clock, utc_now
from shared.eventstore.port import EventStore
from shared.eventstore.sql import SqlEventStore
from shared.messaging.transport import Link, Transport
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
    link: Link


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
    transport: Transport,
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
    try:
        await ensure_migrated(engine)
        metrics = metrics or IngestMetrics()
        async with transport.connect("ingest", metrics.task_restarts) as link:
            store = SqlEventStore(engine, clock, outbox=link.keeps_outbox)
            dead_letters = link.dead_letters(engine, settings.dead_letters, clock)
            parking = ParkingLot(engine, dt.timedelta(seconds=settings.park_hold_seconds), clock)
            intake = Intake(
                ingest_pipeline(store, settings, clock), parking, dead_letters, metrics, clock
            )
            yield IngestComponents(settings, engine, store, intake, parking, metrics, link)
    finally:
        if own_engine:
            await engine.dispose()
