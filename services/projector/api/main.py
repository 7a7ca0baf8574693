"""``initiatives api``: the query API and its operations endpoints, until SIGINT/SIGTERM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CollectorRegistry
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.projector.api.app import create_query_app
from services.projector.api.settings import QueryApiSettings
from shared.clock import utc_now
from shared.config import DatabaseSettings
from shared.dependencies import dependencies
from shared.persistence.engine import create_read_engine
from shared.web.logging import configure_logging
from shared.web.ops import database_ready, ops_router
from shared.web.serve import Opened, run_when_ready


class ApiServerSettings(QueryApiSettings, DatabaseSettings):
    model_config = SettingsConfigDict(env_prefix="INITIATIVES_API_", extra="ignore")

    http_host: str = "127.0.0.1"
    http_port: int = 8000
    database_pool_size: int = Field(
        default=20,
        ge=1,
        le=500,
        description=(
            "Connections held open to the database; requests beyond it wait for one rather "
            "than open one of their own (each new PostgreSQL connection forks a backend)"
        ),
    )


async def serve(settings: ApiServerSettings, log_level: str = "INFO") -> None:
    configure_logging("api", log_level)

    @asynccontextmanager
    async def opened() -> AsyncIterator[Opened]:
        # Read-only and answered request by request: a connection the server dropped fails
        # one request and leaves the pool, which costs less than a ping before every request.
        engine = create_read_engine(
            settings.database_url,
            pool_pre_ping=False,
            pool_size=settings.database_pool_size,
            max_overflow=0,
        )
        try:
            metrics = CollectorRegistry()
            ops = ops_router(metrics, {"database": database_ready(engine)})
            yield (
                create_query_app(engine, settings, clock=utc_now, extra_routers=[ops]),
                metrics,
                None,
            )
        finally:
            await engine.dispose()

    await run_when_ready(
        settings.http_host, settings.http_port, dependencies(settings.database_url), opened
    )
