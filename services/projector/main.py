"""``initiatives projector``: keeps the read models current and serves /healthz, /readyz and
/metrics, until SIGINT or SIGTERM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.projector.components import projector_components
from services.projector.quarantine import quarantine_clear
from services.projector.service import ProjectorService
from services.projector.settings import ProjectorSettings
from shared.messaging.health import service_readiness
from shared.web.logging import configure_logging
from shared.web.ops import ops_router
from shared.web.serve import Opened, run_service


async def serve(settings: ProjectorSettings, log_level: str = "INFO") -> None:
    configure_logging("projector", log_level)

    @asynccontextmanager
    async def opened() -> AsyncIterator[Opened]:
        async with projector_components(settings) as parts:
            checks = service_readiness(parts.engine, settings.kafka_bootstrap_servers)
            checks["quarantine"] = quarantine_clear(parts.engine, parts.metrics.quarantined_streams)
            app = FastAPI(title="initiatives projector", docs_url=None, redoc_url=None)
            app.include_router(ops_router(parts.metrics.registry, checks))
            yield app, parts.metrics.registry, ProjectorService(parts)

    await run_service(settings, opened)
