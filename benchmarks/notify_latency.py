"""Latency from a portal event that crosses a threshold to the webhook arriving (p50/p99).

    uv run python -m benchmarks.notify_latency --bootstrap 127.0.0.1:59092 \\
        --database-url postgresql://postgres@127.0.0.1:55432/postgres

Runs ingest, projector and notifier on real Kafka and PostgreSQL in this process, subscribes
a webhook to each of N grassroots units whose target is 2, then sends one submission per unit
at a steady pace; each crosses 50 % and must reach the receiver once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from contextlib import AsyncExitStack

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from benchmarks.read_side import fresh_database
from services.ingest.components import ingest_components
from services.ingest.service import IngestService
from services.ingest.settings import IngestSettings
from services.notifier.components import notifier_components
from services.notifier.service import NotifierService
from services.notifier.settings import NotifierSettings
from services.notifier.subscriptions import SubscriptionRequest, create
from services.projector.components import projector_components
from services.projector.service import ProjectorService
from services.projector.settings import ProjectorSettings
from shared.eventstore.port import utc_now
from shared.persistence.engine import create_engine
from shared.persistence.migrations import upgrade

SECRET = "benchmark-webhook-secret-0001"


def portal(
    n: int, kind: str, data: dict[str, object], at: str = "2022-03-01T08:00:00+07:00"
) -> bytes:
    event = {
        "event_id": f"lat-{n}",
        "type": kind,
        "occurred_at": at,
        "source": "bench",
        "data": data,
    }
    return json.dumps(event, ensure_ascii=False).encode()


def reference(units: int) -> list[bytes]:
    events = [portal(0, "campaign.defined", {"campaign_id": "c", "name": "1 triệu sáng kiến"})]
    events.append(
        portal(1, "unit.registered", {"unit_id": "p", "name": "LĐLĐ tỉnh", "level": "province"})
    )
    for n in range(units):
        events.append(
            portal(
                2 + n,
                "unit.registered",
                {"unit_id": f"g{n}", "name": f"CĐCS {n}", "parent_id": "p", "level": "grassroots"},
            )
        )
    plan = {
        "campaign_id": "c",
        "unit_id": "p",
        "phases": [
            {
                "phase_id": "p1",
                "name": "Giai đoạn 1",
                "starts_on": "2022-01-01",
                "ends_on": "2022-12-31",
            }
        ],
        "targets": [{"phase_id": "p1", "kind": "count", "value": 2, "applies_to": "children"}],
    }
    events.append(portal(9_000, "plan.set", plan))
    return events


async def main(admin_url: str, bootstrap: str, units: int, interval: float) -> None:
    url = await fresh_database(admin_url)
    engine = create_engine(url)
    await upgrade(engine)
    run = uuid.uuid4().hex[:8]
    topics = [f"lat-{run}.{name}" for name in ("portal", "events", "changes")]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(t, 3, 1) for t in topics + [f"{t}.dlq" for t in topics]])
    await admin.close()
    arrivals: dict[str, float] = {}

    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = int(head.split("content-length:")[1].split("\r\n")[0])
        body = json.loads(await reader.readexactly(length))
        arrivals.setdefault(body["unit"]["id"], time.perf_counter())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(receive, "127.0.0.1", 0)
    hook = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    common = {"database_url": url, "kafka_bootstrap_servers": bootstrap}
    ingest = IngestSettings(
        **common,
        input_topic=topics[0],
        events_topic=topics[1],
        consumer_group=f"{run}-i",
        batch_timeout_ms=20,
    )
    projector = ProjectorSettings(
        **common,
        events_topic=topics[1],
        changes_topic=topics[2],
        consumer_group=f"{run}-p",
        batch_timeout_ms=20,
        relay_idle_seconds=0.02,
    )
    notifier = NotifierSettings(
        **common, changes_topic=topics[2], consumer_group=f"{run}-n", batch_timeout_ms=20
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    sent: dict[str, float] = {}
    async with AsyncExitStack() as stack:
        for components, service in (
            (ingest_components(ingest), IngestService),
            (projector_components(projector), ProjectorService),
            (notifier_components(notifier), NotifierService),
        ):
            parts = await stack.enter_async_context(components)  # type: ignore[arg-type]
            running = service(parts)  # type: ignore[operator]
            await running.start()
            stack.push_async_callback(running.stop)
        for event in reference(units):
            await producer.send_and_wait(topics[0], event, key=b"reference")
        await asyncio.sleep(5)
        async with engine.begin() as connection:
            for n in range(units):
                request = SubscriptionRequest(
                    official=f"o{n}",
                    unit_id=f"g{n}",
                    rules=["threshold_crossed"],
                    channel="webhook",
                    address=hook,
                    secret=SECRET,
                )
                await create(connection, request, utc_now())
        for n in range(units):
            data = {
                "initiative_id": f"i{n}",
                "campaign_id": "c",
                "unit_id": f"g{n}",
                "title": "Sáng kiến",
                "category": "productivity",
                "authors": [{"name": "A"}],
            }
            sent[f"g{n}"] = time.perf_counter()
            await producer.send_and_wait(
                topics[0], portal(10_000 + n, "initiative.submitted", data), key=f"i{n}".encode()
            )
            await asyncio.sleep(interval)
        deadline = time.perf_counter() + 60
        while len(arrivals) < units and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    await producer.stop()
    server.close()
    await engine.dispose()
    latencies = sorted((arrivals[u] - sent[u]) * 1000 for u in sent if u in arrivals)
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(
        f"portal event → webhook: {len(latencies)}/{units} arrived; "
        f"p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="admin URL; a fresh database is made")
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--units", type=int, default=40)
    parser.add_argument("--interval", type=float, default=0.25)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.bootstrap, args.units, args.interval))
