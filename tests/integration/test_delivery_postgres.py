"""Two delivery workers on one PostgreSQL database never send the same delivery twice."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx
import pytest
import sqlalchemy as sa

from services.notifier.delivery import DeliveryWorker
from services.notifier.schema import nt_attempts, nt_deliveries
from shared.persistence.engine import create_engine
from tests.conftest import FrozenClock
from tests.unit.notifier.test_delivery import (
    SECRET,
    WebhookReceiver,
    add_decision,
    add_delivery,
    add_subscription,
    add_units,
    make_worker,
    serving,
    webhooks,
)

pytestmark = pytest.mark.integration

DELIVERIES = 60


async def drain(worker: DeliveryWorker) -> int:
    """Passes until nothing is left for this worker; the number it delivered."""
    total = 0
    while handled := await worker.deliver_due(limit=5):
        total += handled
    return total


async def test_two_workers_never_send_the_same_delivery_twice(postgres_url: str) -> None:
    clock = FrozenClock()
    engines = [create_engine(postgres_url) for _ in range(2)]
    try:
        await add_units(engines[0])
        async with (
            serving(WebhookReceiver(SECRET, clock, delay_seconds=0.01)) as receiver,
            httpx.AsyncClient(timeout=5.0) as client,
        ):
            subscription = await add_subscription(engines[0], clock, address=receiver.url)
            for n in range(DELIVERIES):
                decision = await add_decision(engines[0], clock, key=f"bac-kan/{n}")
                await add_delivery(engines[0], clock, decision, subscription)
            channels = webhooks(client, clock)
            workers = [make_worker(engine, channels, clock) for engine in engines]

            delivered = await asyncio.gather(*map(drain, workers))

        keys = Counter(json.loads(request.body)["key"] for request in receiver.requests)
        assert sum(delivered) == DELIVERIES
        assert all(delivered), f"both workers took part: {delivered}"
        assert len(keys) == DELIVERIES
        assert set(keys.values()) == {1}
        async with engines[0].connect() as connection:
            statuses = await connection.execute(
                sa.select(
                    nt_deliveries.c.status, nt_deliveries.c.attempts, sa.func.count()
                ).group_by(nt_deliveries.c.status, nt_deliveries.c.attempts)
            )
            assert [tuple(row) for row in statuses] == [("sent", 1, DELIVERIES)]
            logged = await connection.execute(
                sa.select(nt_attempts.c.outcome, sa.func.count()).group_by(nt_attempts.c.outcome)
            )
            assert [tuple(row) for row in logged] == [("sent", DELIVERIES)]
    finally:
        for engine in engines:
            await engine.dispose()
