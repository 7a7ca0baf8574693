"""``initiatives notifier``: the input of progress changes, the clock, the delivery worker
and the HTTP API (subscriptions, notifications, /healthz, /readyz, /metrics) in one
process, until SIGINT or SIGTERM (uvicorn handles the signals and we stop the rest)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.notifier.api import create_notifier_app
from services.notifier.components import notifier_components
from services.notifier.service import NotifierService
from services.notifier.settings import NotifierSettings
from shared.messaging.health import service_readiness
from shared.web.logging import configure_logging
from shared.web.ops import ops_router
from shared.web.serve import Opened, run_service


async def serve(settings: NotifierSettings, log_level: str = "INFO") -> None:
    configure_logging("notifier", log_level)

    @asynccontextmanager
    async def opened() -> AsyncIterator[Opened]:
        async with notifier_components(settings) as parts:
            checks = service_readiness(parts.engine, settings.kafka_bootstrap_servers)
            app = create_notifier_app(
                parts.engine,
                settings,
                clock=parts.clock,
                extra_routers=[ops_router(parts.metrics.registry, checks)],
            )
            yield app, parts.metrics.registry, NotifierService(parts)

    await run_service(settings, opened)
