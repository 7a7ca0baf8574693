"""Readiness of the Kafka cluster: a real metadata request, not a socket probe."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient

from shared.web.ops import ReadinessCheck


def kafka_ready(bootstrap_servers: str) -> ReadinessCheck:
    async def check() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
        await admin.start()
        try:
            await admin.list_topics()
        finally:
            await admin.close()

    return check
