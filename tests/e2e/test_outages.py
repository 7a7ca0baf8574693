"""Each long-running service started while PostgreSQL and Kafka are down stays up: it answers
/healthz, says in /readyz what it waits for, logs one line per attempt naming the setting and
no traceback, becomes ready once both answer, and then processes what waited for it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import sqlalchemy as sa

from services.ingest.pipeline import IngestPipeline
from services.notifier.schema import nt_progress
from services.projector.schema import rm_units
from services.samples.portal_events import campaign_defined, small_tree
from shared.eventstore.schema import events
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from tests.infrastructure import Infrastructure, create_topics
from tests.kafka_tools import produce, wait_until
from tests.processes import free_port, service_process
from tests.unit.notifier import change

pytestmark = [pytest.mark.integration, pytest.mark.e2e]


class Gate:
    """A port that refuses connections (an outage) until opened; then every connection is
    relayed to the real server behind it."""

    def __init__(self, target: str) -> None:
        host, _, port = target.rpartition(":")
        self._target = (host, int(port))
        self.port = free_port()
        self._server: asyncio.Server | None = None

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()


@contextlib.asynccontextmanager
async def gates(*targets: str) -> AsyncIterator[list[Gate]]:
    opened = [Gate(target) for target in targets]
    try:
        yield opened
    finally:
        for gate in opened:
            await gate.close()


def behind(url: str, gate: Gate) -> str:
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{gate.port}"))


Prepare = Callable[[str, str, str], Awaitable[None]]
Done = Callable[[str], Awaitable[bool]]


async def exists(url: str, column: sa.Column[Any], value: str) -> bool:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            found = await connection.scalar(sa.select(sa.func.count()).where(column == value))
    finally:
        await engine.dispose()
    return bool(found)


async def portal_event_waits(url: str, bootstrap: str, prefix: str) -> None:
    event = json.dumps(campaign_defined(event_id="waited-for")).encode()
    await produce(bootstrap, f"{prefix}portal", [event], [b"reference"])


async def portal_event_stored(url: str) -> bool:
    return await exists(url, events.c.event_id, "waited-for")


async def recorded_events_wait(url: str, bootstrap: str, prefix: str) -> None:
    engine = create_engine(url)
    store = SqlEventStore(engine, outbox=False)
    await IngestPipeline(store).submit(small_tree())
    wire = [record.to_wire() async for record in store.read_all()]
    await engine.dispose()
    await produce(bootstrap, f"{prefix}events", wire, [b"reference"] * len(wire))


async def units_projected(url: str) -> bool:
    return await exists(url, rm_units.c.unit_id, "bk-cdcs-1")


async def change_waits(url: str, bootstrap: str, prefix: str) -> None:
    wire = change("bk", 455).model_dump_json().encode()
    await produce(bootstrap, f"{prefix}changes", [wire], [b"bk"])


async def change_judged(url: str) -> bool:
    return await exists(url, nt_progress.c.unit_id, "bk")


SERVICES: dict[str, tuple[str, Prepare, Done]] = {
    "ingest": ("INGEST", portal_event_waits, portal_event_stored),
    "projector": ("PROJECTOR", recorded_events_wait, units_projected),
    "notifier": ("NOTIFIER", change_waits, change_judged),
}


@pytest.mark.parametrize("service", list(SERVICES))
async def test_a_service_started_during_an_outage_waits_then_processes_what_waited(
    infrastructure: Infrastructure,
    postgres_url: str,
    kafka_topic_prefix: str,
    tmp_path: Path,
    service: str,
) -> None:
    prefix, p = SERVICES[service][0], kafka_topic_prefix
    prepare, done = SERVICES[service][1:]
    bootstrap = infrastructure.kafka_bootstrap_servers
    await create_topics(
        bootstrap,
        [f"{p}{name}" for name in ("portal", "portal.dlq", "events", "events.dlq", "changes")],
        partitions=1,
    )
    database_host = urlsplit(postgres_url).netloc.rpartition("@")[2]
    port = free_port()
    log = tmp_path / f"{service}.log"
    async with gates(database_host, bootstrap) as (database, kafka):
        env = {
            "DATABASE_URL": behind(postgres_url, database),
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka.port}",
            f"INITIATIVES_{prefix}_HTTP_PORT": str(port),
            "INITIATIVES_INGEST_INPUT_TOPIC": f"{p}portal",
            "INITIATIVES_INGEST_EVENTS_TOPIC": f"{p}events",
            "INITIATIVES_PROJECTOR_EVENTS_TOPIC": f"{p}events",
            "INITIATIVES_PROJECTOR_CHANGES_TOPIC": f"{p}changes",
            "INITIATIVES_NOTIFIER_CHANGES_TOPIC": f"{p}changes",
            f"INITIATIVES_{prefix}_CONSUMER_GROUP": f"{p}{service}",
        }
        with service_process([service], env, log):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http:

                async def answering() -> bool:
                    with contextlib.suppress(httpx.TransportError):
                        return (await http.get("/healthz")).status_code == 200
                    return False

                await wait_until(answering, within=30, what=f"{service} answering /healthz")
                await asyncio.sleep(2)
                waiting = await http.get("/readyz")
                await prepare(postgres_url, bootstrap, p)
                opened_at = time.monotonic()
                await database.open()
                await kafka.open()

                async def ready() -> bool:
                    return (await http.get("/readyz")).status_code == 200

                await wait_until(ready, within=90, what=f"{service} ready after the outage")
                became_ready = time.monotonic() - opened_at
                await wait_until(lambda: done(postgres_url), within=60, what="what waited")

    lines = log.read_text().splitlines()
    attempts = [line for line in lines if "waiting for the database" in line]
    print(f"{service}: ready {became_ready:.1f} s after the outage ended")
    assert waiting.status_code == 503
    assert "DATABASE_URL" in waiting.json()["waiting_for"]
    assert attempts, "every attempt is logged"
    assert all(json.loads(line)["level"] == "WARNING" for line in attempts)
    assert not any("Traceback" in line for line in lines[: lines.index(attempts[-1]) + 1])
