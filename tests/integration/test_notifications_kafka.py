"""Officials are told, over real Kafka and PostgreSQL: portal events → ingest → projector →
progress.changes.v1 → notifier → a real webhook receiver (signature checked) and a real SMTP
server, each notification once."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.api import create_notifier_app
from services.notifier.schema import nt_decisions
from services.notifier.settings import NotifierSettings
from services.samples import seed_cases
from shared.clock import utc_now
from shared.persistence.engine import create_engine
from shared.web.secrets import hash_secret
from tests.conftest import UTC7, FrozenClock
from tests.infrastructure import Infrastructure, create_topics
from tests.kafka_tools import produce, wait_until
from tests.receivers import LOCAL_NETWORKS, Mailbox, WebhookReceiver, serving, smtp_serving
from tests.running import (
    kafka_ingest_settings,
    kafka_projector_settings,
    running_ingest,
    running_notifier,
    running_projector,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]


def keyed(events: list[dict[str, Any]]) -> tuple[list[bytes], list[bytes | None]]:
    keys: list[bytes | None] = [
        str(e["data"].get("initiative_id", "reference")).encode() for e in events
    ]
    return [json.dumps(e, ensure_ascii=False).encode() for e in events], keys


async def subscribe(
    engine: AsyncEngine, settings: NotifierSettings, request: dict[str, Any]
) -> None:
    """Subscribe through the notifier's HTTP API, as an official's tool would."""
    app = create_notifier_app(engine, settings, clock=utc_now)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://notifier"
    ) as client:
        response = await client.post(
            "/v1/subscriptions", json=request, headers={"Authorization": "Bearer admin"}
        )
    assert response.status_code == 201, response.text


async def test_a_threshold_crossing_reaches_a_webhook_and_an_inbox_exactly_once(
    infrastructure: Infrastructure, postgres_url: str, kafka_topic_prefix: str
) -> None:
    bootstrap = infrastructure.kafka_bootstrap_servers
    p = kafka_topic_prefix
    common = {"database_url": postgres_url, "kafka_bootstrap_servers": bootstrap}
    ingest = kafka_ingest_settings(postgres_url, bootstrap, p)
    projector = kafka_projector_settings(postgres_url, bootstrap, p)
    engine = create_engine(postgres_url)
    mailbox = Mailbox()
    # The notifier's clock in phase I, while Ba Chẽ's thresholds are crossed: thresholds are
    # decided only while their phase runs.
    clock = FrozenClock(dt.datetime(2022, 5, 20, 9, 0, tzinfo=UTC7))
    hook = WebhookReceiver("hook-secret-of-ba-che-2022", clock)
    await create_topics(
        bootstrap,
        [
            f"{p}portal",
            f"{p}portal.dlq",
            f"{p}events",
            f"{p}events.dlq",
            f"{p}changes",
            f"{p}changes.dlq",
        ],
        partitions=3,
    )
    async with serving(hook), smtp_serving(mailbox, auth_required=False) as smtp_port:
        notifier = NotifierSettings(
            **common,
            changes_topic=f"{p}changes",
            consumer_group=f"{p}notifier",
            batch_timeout_ms=50,
            smtp_host="127.0.0.1",
            smtp_port=smtp_port,
            smtp_starttls=False,
            tokens={hash_secret("admin"): "*"},
            webhook_allowed_networks=LOCAL_NETWORKS,
        )
        async with (
            running_ingest(ingest),
            running_projector(projector),
            running_notifier(notifier, clock),
        ):
            await produce(
                bootstrap, ingest.input_topic, *keyed(seed_cases.hierarchy() + seed_cases.plans())
            )
            known = partial(_unit_known, engine, "bache-khoi-cq")
            await wait_until(known, within=60, what="units")
            await subscribe(
                engine,
                notifier,
                {
                    "official": "Chủ tịch Công đoàn Khối",
                    "unit_id": "bache-khoi-cq",
                    "rules": ["threshold_crossed"],
                    "channel": "webhook",
                    "address": hook.url,
                    "secret": "hook-secret-of-ba-che-2022",
                    "language": "vi",
                },
            )
            await subscribe(
                engine,
                notifier,
                {
                    "official": "Provincial federation office",
                    "unit_id": "quang-ninh",
                    "include_descendants": True,
                    "rules": ["threshold_crossed"],
                    "channel": "email",
                    "address": "office@ldld-quangninh.test",
                    "language": "en",
                },
            )
            submissions = keyed(seed_cases.ba_che_submissions())
            await produce(bootstrap, ingest.input_topic, *submissions)
            await produce(bootstrap, ingest.input_topic, *submissions)  # a portal sends twice
            await wait_until(lambda: _got(hook, mailbox), within=90, what="webhook and e-mail")
            await wait_until(partial(_settled, engine), within=30, what="deliveries settled")
            async with engine.connect() as connection:
                decisions = (
                    await connection.execute(
                        sa.select(
                            nt_decisions.c.unit_id,
                            nt_decisions.c.phase_id,
                            nt_decisions.c.rule,
                            nt_decisions.c.threshold,
                        ).where(nt_decisions.c.rule == "threshold_crossed")
                    )
                ).all()
    await engine.dispose()

    assert decisions == [("bache-khoi-cq", "bc-1", "threshold_crossed", 0.5)]
    assert len(hook.requests) == 1
    assert hook.requests[0].verified
    body = json.loads(hook.requests[0].body)
    assert body["rule"] == "threshold_crossed"
    assert "50" in json.dumps(body, ensure_ascii=False)
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "office@ldld-quangninh.test"
    assert "50" in str(message["Subject"])


async def _unit_known(engine: AsyncEngine, unit_id: str) -> bool:
    async with engine.connect() as connection:
        found = await connection.scalar(
            sa.text("SELECT count(*) FROM rm_units WHERE unit_id = :u"), {"u": unit_id}
        )
    return bool(found)


async def _got(hook: WebhookReceiver, mailbox: Mailbox) -> bool:
    return bool(hook.requests) and bool(mailbox.messages)


async def _settled(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        waiting = await connection.scalar(
            sa.text("SELECT count(*) FROM nt_deliveries WHERE status <> 'sent'")
        )
    return waiting == 0
