"""``initiatives notifier`` killed with SIGKILL while webhooks are being delivered, then
restarted: no notification is lost, and only requests in flight at the kill are sent again."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
from collections import Counter
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.schema import nt_deliveries
from services.notifier.subscriptions import SubscriptionRequest, create
from shared.clock import utc_now
from shared.contracts.progress import ProgressChanged, ProgressFigures
from shared.persistence.engine import create_engine
from shared.persistence.progress_outbox import progress_outbox
from shared.web.secrets import hash_secret
from tests.kafka_tools import wait_until
from tests.processes import free_port, service_process
from tests.published import publish_units
from tests.receivers import LOCAL_NETWORKS, WebhookReceiver, serving

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

SECRET = "a-long-webhook-secret-for-tests"
UNITS = [f"cdcs-{n}" for n in range(30)]


async def setup(engine: AsyncEngine, url: str) -> None:
    async with engine.begin() as connection:
        await publish_units(connection, [(u, f"CĐCS {u}", None) for u in UNITS])
        for unit in UNITS:
            request = SubscriptionRequest(
                official=f"Chủ tịch {unit}",
                unit_id=unit,
                rules=["threshold_crossed"],
                channel="webhook",
                address=url,
                secret=SECRET,
            )
            await create(connection, request, utc_now())
        # A phase running now: thresholds are decided only while their phase runs.
        as_of = utc_now()
        today = as_of.date()
        await connection.execute(
            progress_outbox.insert(),
            [
                {
                    "unit_id": unit,
                    "payload": ProgressChanged(
                        unit_id=unit,
                        campaign_id="c",
                        phase_id="p1",
                        phase_name="Giai đoạn 1",
                        starts_on=today - dt.timedelta(days=30),
                        ends_on=today + dt.timedelta(days=30),
                        metric="submitted",
                        before=ProgressFigures(value=10, target=60),
                        after=ProgressFigures(value=60, target=60),
                        as_of=as_of,
                    ).model_dump(mode="json"),
                    "created_at": as_of,
                }
                for unit in UNITS
            ],
        )


async def statuses(engine: AsyncEngine) -> Counter[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(sa.select(nt_deliveries.c.status))
        return Counter(status for (status,) in rows)


async def test_killing_the_notifier_mid_delivery_loses_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    engine = create_engine(postgres_url)
    hook = WebhookReceiver(SECRET, utc_now, delay_seconds=0.3)
    async with serving(hook):
        await setup(engine, hook.url)
        env: dict[str, str | None] = {
            "DATABASE_URL": postgres_url,
            # the embedded transport: the notifier drains the outbox this test fills
            "KAFKA_BOOTSTRAP_SERVERS": None,
            "INITIATIVES_NOTIFIER_HTTP_PORT": str(free_port()),
            "INITIATIVES_NOTIFIER_TOKENS": json.dumps({hash_secret("t"): "*"}),
            "INITIATIVES_NOTIFIER_OUTBOX_INTERVAL_SECONDS": "0.1",
            "INITIATIVES_NOTIFIER_DELIVERY_LEASE_SECONDS": "2",
            "INITIATIVES_NOTIFIER_WEBHOOK_TIMEOUT_SECONDS": "1",
            "INITIATIVES_NOTIFIER_WEBHOOK_ALLOWED_NETWORKS": json.dumps(LOCAL_NETWORKS),
        }
        log = tmp_path / "notifier.log"
        with service_process(["notifier"], env, log) as process:
            await wait_until(lambda: _some(hook, 3), within=60, what="first webhooks")
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        at_kill = await statuses(engine)
        received_at_kill = len(hook.requests)
        with service_process(["notifier"], env, log):
            await wait_until(partial(_all_sent, engine), within=120, what="all delivered")
            await asyncio.sleep(1)
    keys = Counter(json.loads(r.body)["key"] for r in hook.requests)
    await engine.dispose()

    assert all(request.verified for request in hook.requests)
    assert len(keys) == len(UNITS), "every decision reached its subscriber"
    resent = sum(count - 1 for count in keys.values())
    assert at_kill["sent"] < len(UNITS), "the kill must land mid-delivery"
    assert resent <= received_at_kill - at_kill["sent"], "only requests in flight were resent"


async def _some(hook: WebhookReceiver, count: int) -> bool:
    return len(hook.requests) >= count


async def _all_sent(engine: AsyncEngine) -> bool:
    return (await statuses(engine)) == Counter({"sent": len(UNITS)})
