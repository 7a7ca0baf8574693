"""``initiatives ingest``: the Kafka door, the relay, parked retries and the HTTP door in one
process, until SIGINT or SIGTERM (uvicorn handles the signals and we stop the rest)."""

from __future__ import annotations

from services.ingest.components import ingest_components
from services.ingest.http import create_ingest_app
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from shared.messaging.health import kafka_ready
from shared.web.logging import configure_logging
from shared.web.ops import database_ready
from shared.web.serve import serve_http


async def serve(settings: IngestSettings, log_level: str = "INFO") -> None:
    configure_logging("ingest", log_level)
    async with ingest_components(settings) as parts:
        checks = {"database": database_ready(parts.engine)}
        if settings.kafka_bootstrap_servers:
            checks["kafka"] = kafka_ready(settings.kafka_bootstrap_servers)
        service = IngestService(parts)
        await service.start()
        try:
            await serve_http(
                create_ingest_app(parts, readiness_checks=checks),
                settings.http_host,
                settings.http_port,
                parts.metrics.registry,
            )
        finally:
            await service.stop()
