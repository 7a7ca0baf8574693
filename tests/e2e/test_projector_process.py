"""``initiatives projector`` killed with SIGKILL at random points during a long stream, then
restarted, ends with read models equal to a full rebuild from the event store."""

from __future__ import annotations

import asyncio
import random
import signal
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer

from services.ingest.metrics import IngestMetrics
from services.ingest.pipeline import IngestPipeline
from services.ingest.relay import OutboxRelay
from services.projector.rebuild import rebuild
from services.projector.schema import rm_initiative_history
from services.samples import seed_cases
from services.samples.portal_events import reviewed, unit_moved, unit_registered
from shared.eventstore.schema import events
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from tests.infrastructure import Infrastructure, create_topics
from tests.kafka_tools import wait_until
from tests.processes import free_port, service_process
from tests.read_models import dump

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


def long_history() -> list[dict[str, object]]:
    history = seed_cases.hierarchy() + seed_cases.plans() + seed_cases.ba_che_submissions()
    history += seed_cases.bac_kan_submissions(before=900, after=100)
    for n in range(600):
        verdict = "initiative.approved" if n % 2 == 0 else "initiative.rejected"
        history.append(reviewed(verdict, f"bk-{n}", reason="trùng lặp"))
    history += [
        unit_registered("bk-cho-don", "bac-kan", "district"),
        unit_moved("bk-cdcs-4", "bk-cho-don"),
    ]
    history += [
        reviewed("initiative.recognized", f"bk-{n}", award_level="cấp tỉnh")
        for n in range(0, 600, 14)
    ]
    return history


async def test_kill_9_at_random_points_then_restart_equals_a_full_rebuild(
    infrastructure: Infrastructure, postgres_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> None:
    rng = random.Random(20220512)
    bootstrap = infrastructure.kafka_bootstrap_servers
    topic = f"{kafka_topic_prefix}events"
    await create_topics(
        bootstrap, [topic, f"{topic}.dlq", f"{kafka_topic_prefix}changes"], partitions=3
    )
    engine = create_engine(postgres_url)
    store = SqlEventStore(engine)
    verdicts = await IngestPipeline(store).submit(long_history())
    assert {v.status for v in verdicts} == {"accepted"}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    try:
        await producer.start()
        relay = OutboxRelay(store, producer, topic, IngestMetrics())
        while await relay.relay_once():
            pass
    finally:
        await producer.stop()
    async with engine.connect() as connection:
        facts = await connection.scalar(
            sa.select(sa.func.count()).select_from(events).where(events.c.stream_id != "reference")
        )

    async def applied() -> int:
        async with engine.connect() as connection:
            count = await connection.scalar(
                sa.select(sa.func.count()).select_from(rm_initiative_history)
            )
        return int(count or 0)

    env = {
        "DATABASE_URL": postgres_url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "INITIATIVES_PROJECTOR_EVENTS_TOPIC": topic,
        "INITIATIVES_PROJECTOR_CHANGES_TOPIC": f"{kafka_topic_prefix}changes",
        "INITIATIVES_PROJECTOR_CONSUMER_GROUP": f"{kafka_topic_prefix}projector",
        "INITIATIVES_PROJECTOR_BATCH_SIZE": "50",
        "INITIATIVES_PROJECTOR_HTTP_PORT": str(free_port()),
    }
    kills = []
    for _ in range(3):
        with service_process(["projector"], env, tmp_path / "projector.log") as process:
            before = await applied()
            target = before + rng.randint(50, 400)
            await wait_until(partial(_at_least, applied, target), within=120, what="progress")
            await asyncio.sleep(rng.uniform(0, 0.3))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            kills.append(await applied())
    with service_process(["projector"], env, tmp_path / "projector.log") as process:
        await wait_until(partial(_at_least, applied, int(facts or 0)), within=180, what="caught up")
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    live = await dump(engine)
    await engine.dispose()
    await rebuild(postgres_url, batch_size=500)
    rebuilt_engine = create_engine(postgres_url)
    rebuilt = await dump(rebuilt_engine)
    await rebuilt_engine.dispose()

    assert kills == sorted(kills)
    assert 0 < kills[0] < int(facts or 0)
    assert live == rebuilt


async def _at_least(count: object, target: int) -> bool:
    assert callable(count)
    return int(await count()) >= target
