"""``initiatives ingest`` as a separate process: killed between append and publish, it loses
nothing and reorders nothing once restarted."""

from __future__ import annotations

import json
import signal
from collections import defaultdict
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from services.ingest.http import hash_api_key
from services.samples.portal_events import reviewed, small_tree, submitted
from shared.contracts.recorded import RecordedEvent
from shared.eventstore.schema import events, outbox
from shared.persistence.engine import create_engine
from tests.infrastructure import Infrastructure, create_topics
from tests.kafka_tools import produce, read_topic, wait_until
from tests.processes import free_port, service_process

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


async def counts(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            stored = await connection.scalar(sa.select(sa.func.count()).select_from(events))
            waiting = await connection.scalar(sa.select(sa.func.count()).select_from(outbox))
    finally:
        await engine.dispose()
    return int(stored or 0), int(waiting or 0)


async def test_killing_ingest_between_append_and_publish_loses_and_reorders_nothing(
    infrastructure: Infrastructure,
    postgres_url: str,
    kafka_topic_prefix: str,
    tmp_path: Path,
) -> None:
    bootstrap = infrastructure.kafka_bootstrap_servers
    portal_topic = f"{kafka_topic_prefix}portal"
    events_topic = f"{kafka_topic_prefix}events"
    await create_topics(
        bootstrap, [portal_topic, events_topic, f"{portal_topic}.dlq"], partitions=3
    )
    port = free_port()
    env = {
        "DATABASE_URL": postgres_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INITIATIVES_INGEST_INPUT_TOPIC": portal_topic,
        "INITIATIVES_INGEST_EVENTS_TOPIC": events_topic,
        "INITIATIVES_INGEST_CONSUMER_GROUP": f"{kafka_topic_prefix}ingest",
        "INITIATIVES_INGEST_BATCH_SIZE": "200",
        "INITIATIVES_INGEST_RELAY_BATCH_SIZE": "50",
        "INITIATIVES_INGEST_HTTP_PORT": str(port),
        "INITIATIVES_INGEST_API_KEYS": json.dumps({"national-portal": hash_api_key("secret")}),
    }
    history = list(small_tree())
    for n in range(1500):
        history += [
            submitted(f"sk-{n}", f"bk-cdcs-{n % 2 + 1}"),
            reviewed("initiative.approved", f"sk-{n}"),
        ]
    log = tmp_path / "ingest.log"

    with service_process(["ingest"], env, log) as first:

        async def ready() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    response = await client.get(f"http://127.0.0.1:{port}/readyz")
            except httpx.TransportError:
                return False
            return response.status_code == 200

        await wait_until(ready, within=60, what="ingest ready")
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{port}/v1/events",
                content="\n".join(json.dumps(e) for e in history[:6]),
                headers={"X-API-Key": "secret", "Content-Type": "application/x-ndjson"},
            )
        assert response.json()["summary"]["accepted"] == 6
        await produce(
            bootstrap,
            portal_topic,
            [json.dumps(e).encode() for e in history[6:]],
            keys=[e["data"]["initiative_id"].encode() for e in history[6:]],
        )

        async def appended_not_yet_published() -> bool:
            stored, waiting = await counts(postgres_url)
            return stored > 500 and waiting > 0

        await wait_until(appended_not_yet_published, within=60, what="a backlog in the outbox")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    stored_at_kill, waiting_at_kill = await counts(postgres_url)

    with service_process(["ingest"], env, log):

        async def caught_up() -> bool:
            return await counts(postgres_url) == (len(history), 0)

        await wait_until(caught_up, within=120, what="all stored and published")

    records = await read_topic(bootstrap, events_topic, at_least=len(history), within=60)
    versions: dict[str, list[int]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = RecordedEvent.from_wire(record.value)
        versions[event.stream_id].append(event.stream_version)
    assert waiting_at_kill > 0, "the kill must land while events wait in the outbox"
    assert stored_at_kill < len(history) or waiting_at_kill > 0
    for stream, seen in versions.items():
        first_seen = list(dict.fromkeys(seen))
        assert first_seen == list(range(1, len(first_seen) + 1)), stream
    assert sum(len(set(v)) for v in versions.values()) == len(history)
