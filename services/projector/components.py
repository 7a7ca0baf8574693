"""The projector's composition root: settings in, wired parts out; nothing at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.metrics import ProjectorMetrics
from services.projector.projection import Projection
from services.projector.settings import ProjectorSettings
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from shared.persistence.migrations import ensure_migrated


@dataclass
class ProjectorComponents:
    settings: ProjectorSettings
    engine: AsyncEngine
    store: SqlEventStore
    projection: Projection
    metrics: ProjectorMetrics
    producer: AIOKafkaProducer | None


@asynccontextmanager
async def projector_components(
    settings: ProjectorSettings,
    *,
    engine: AsyncEngine | None = None,
    metrics: ProjectorMetrics | None = None,
) -> AsyncIterator[ProjectorComponents]:
    own_engine = engine is None
    engine = engine or create_engine(settings.database_url)
    producer = None
    try:
        await ensure_migrated(engine)
        store = SqlEventStore(engine)
        projection = Projection(engine, store)
        await projection.start()
        if settings.kafka_bootstrap_servers is not None:
            producer = AIOKafkaProducer(
                bootstrap_servers=settings.kafka_bootstrap_servers,
                client_id="initiatives-projector",
                acks="all",
                enable_idempotence=True,
                linger_ms=5,
            )
            await producer.start()
        yield ProjectorComponents(
            settings, engine, store, projection, metrics or ProjectorMetrics(), producer
        )
    finally:
        if producer is not None:
            await producer.stop()
        if own_engine:
            await engine.dispose()
