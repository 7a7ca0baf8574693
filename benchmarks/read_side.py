"""Read side at scale: full rebuild of the read models, then query API latency.

    uv run python -m benchmarks.read_side --scale 0.17 \\
        --database-url postgresql://postgres@127.0.0.1:55432/postgres

Loads the workload straight into a fresh event store (validated, batch appends), times
``initiatives projector rebuild``, then serves the query API with uvicorn on loopback and
measures ``progress`` and ``children`` of the largest province and of the national unit with
50 concurrent clients (p50/p99, requests/s).
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import asyncpg
import httpx
import uvicorn

from services.projector.api.app import create_query_app
from services.projector.api.settings import QueryApiSettings
from services.projector.rebuild import rebuild
from services.samples.national import generate
from shared.contracts.portal import decode_portal_event
from shared.contracts.recorded import NewEvent
from shared.eventstore.port import utc_now
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from shared.persistence.migrations import upgrade
from shared.web.secrets import hash_secret


async def fresh_database(admin_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(admin_url)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    return (
        admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + f"/{name}"
    )


async def load(url: str, scale: float) -> int:
    engine = create_engine(url)
    await upgrade(engine)
    store = SqlEventStore(engine, outbox=False)
    batch: list[NewEvent] = []
    total = 0
    for event in generate(scale):
        batch.append(NewEvent.from_portal(decode_portal_event(event)))
        if len(batch) == 5000:
            await store.append(batch)
            total += len(batch)
            batch = []
    await store.append(batch)
    await engine.dispose()
    return total + len(batch)


async def latencies(
    client: httpx.AsyncClient, path: str, requests: int = 1000
) -> tuple[float, float, float]:
    samples: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(requests):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            started = time.perf_counter()
            response = await client.get(path, headers={"Authorization": "Bearer bench"})
            response.raise_for_status()
            samples.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(50)))
    elapsed = time.perf_counter() - started
    samples.sort()
    return (
        samples[len(samples) // 2] * 1000,
        samples[int(len(samples) * 0.99)] * 1000,
        requests / elapsed,
    )


async def main(admin_url: str, scale: float) -> None:
    url = await fresh_database(admin_url)
    started = time.perf_counter()
    events = await load(url, scale)
    print(f"loaded {events:,} events in {time.perf_counter() - started:.0f} s")
    report = await rebuild(url, batch_size=5000)
    print(
        f"rebuild: {report.events:,} events in {report.seconds:.1f} s "
        f"= {report.events_per_second:,.0f} events/s"
    )
    engine = create_engine(url)
    app = create_query_app(
        engine, QueryApiSettings(tokens={hash_secret("bench"): "*"}), clock=utc_now
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=8799, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    await asyncio.sleep(1.5)
    limits = httpx.Limits(max_connections=50)
    async with httpx.AsyncClient(
        base_url="http://127.0.0.1:8799", limits=limits, timeout=30
    ) as client:
        for label, path in (
            ("progress, largest province", "/v1/units/t0/progress"),
            ("children, largest province", "/v1/units/t0/children"),
            ("progress, national unit", "/v1/units/vn/progress"),
            ("children, national unit", "/v1/units/vn/children"),
        ):
            await latencies(client, path, 100)
            p50, p99, rate = await latencies(client, path)
            print(
                f"{label:28} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  {rate:7,.0f} req/s (50 clients)"
            )
    server.should_exit = True
    await serving
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="admin URL; a fresh database is made")
    parser.add_argument("--scale", type=float, default=0.17)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.scale))
