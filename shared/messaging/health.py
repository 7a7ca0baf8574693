"""Readiness of the Kafka cluster: a real metadata request, not a socket probe."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.web.ops import ReadinessCheck, database_ready


def kafka_ready(bootstrap_servers: str) -> ReadinessCheck:
    async def check() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()

    return check


def service_readiness(
    engine: AsyncEngine, kafka_bootstrap_servers: str | None
) -> dict[str, ReadinessCheck]:
    """A service's dependency checks: its database, and Kafka when it uses it."""
    checks = {"database": database_ready(engine)}
    if kafka_bootstrap_servers:
        checks["kafka"] = kafka_ready(kafka_bootstrap_servers)
    return checks
