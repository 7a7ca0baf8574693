"""The projector's composition root: settings and a transport in, wired parts out; nothing
at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.metrics import ProjectorMetrics
from services.projector.projection import Projection
from services.projector.settings import ProjectorSettings
from shared.eventstore.sql import SqlEventStore
from shared.messaging.transport import Link, Transport
from shared.persistence.engine import create_engine
from shared.persistence.migrations import ensure_migrated


@dataclass
class ProjectorComponents:
    settings: ProjectorSettings
    engine: AsyncEngine
    store: SqlEventStore
    projection: Projection
    metrics: ProjectorMetrics
    link: Link


@asynccontextmanager
async def projector_components(
    settings: ProjectorSettings,
    transport: Transport,
    *,
    engine: AsyncEngine | None = None,
    metrics: ProjectorMetrics | None = None,
) -> AsyncIterator[ProjectorComponents]:
    own_engine = engine is None
    engine = engine or create_engine(settings.database_url)
    try:
        await ensure_migrated(engine)
        store = SqlEventStore(engine)
        projection = Projection(engine, store)
        await projection.start()
        metrics = metrics or ProjectorMetrics()
        async with transport.connect("projector", metrics.task_restarts) as link:
            yield ProjectorComponents(settings, engine, store, projection, metrics, link)
    finally:
        if own_engine:
            await engine.dispose()
