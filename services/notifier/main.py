"""``initiatives notifier``: the input of progress changes, the clock, the delivery worker
and the HTTP API (subscriptions, notifications, /healthz, /readyz, /metrics) in one
process, until SIGINT or SIGTERM (uvicorn handles the signals and we stop the rest)."""

from __future__ import annotations

from services.notifier.api import create_notifier_app
from services.notifier.components import notifier_components
from services.notifier.service import NotifierService
from services.notifier.settings import NotifierSettings
from shared.messaging.health import kafka_ready
from shared.web.logging import configure_logging
from shared.web.ops import database_ready, ops_router
from shared.web.serve import serve_http


async def serve(settings: NotifierSettings, log_level: str = "INFO") -> None:
    configure_logging("notifier", log_level)
    async with notifier_components(settings) as parts:
        checks = {"database": database_ready(parts.engine)}
        if settings.kafka_bootstrap_servers:
            checks["kafka"] = kafka_ready(settings.kafka_bootstrap_servers)
        app = create_notifier_app(
            parts.engine,
            settings,
            clock=parts.clock,
            extra_routers=[ops_router(parts.metrics.registry, checks)],
        )
        service = NotifierService(parts)
        await service.start()
        try:
            await serve_http(app, settings.http_host, settings.http_port, parts.metrics.registry)
        finally:
            await service.stop()
