"""``initiatives ingest``: the Kafka door, the relay, parked retries and the HTTP door in one
process, until SIGINT or SIGTERM (uvicorn handles the signals and we stop the rest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.ingest.components import ingest_components
from services.ingest.http import create_ingest_app
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from shared.messaging.health import service_readiness
from shared.web.logging import configure_logging
from shared.web.serve import Opened, run_service


async def serve(settings: IngestSettings, log_level: str = "INFO") -> None:
    configure_logging("ingest", log_level)

    @asynccontextmanager
    async def opened() -> AsyncIterator[Opened]:
        async with ingest_components(settings) as parts:
            checks = service_readiness(parts.engine, settings.kafka_bootstrap_servers)
            app = create_ingest_app(parts, readiness_checks=checks)
            yield app, parts.metrics.registry, IngestService(parts)

    await run_service(settings, opened)
