"""End-to-end latency at a steady offered load: portal event → visible in the query API, and
portal event → webhook delivered, p50/p99 at 1,000 and 5,000 events/s.

``initiatives ingest``, ``projector``, ``notifier`` and ``api`` run as processes of their own
on fresh topics and a fresh database holding the national reference data. The load is the
national workload's activity, sent at the offered rate after a warm-up (some activity
projected at once, then ``ANALYZE``, as autovacuum would have done on a server running for a
while); among it go probes: submissions to
units of a district of their own (one per rate) whose target is 2, so each probe shows in
that district's ``children`` ranking and crosses 50 % of its unit's target, which an
official following the districts' province is told of on a webhook served here. A probe's
latency is from the moment it was handed to the producer. The CPU each process took per
event (services, this benchmark, PostgreSQL, Kafka) says where the cores went.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import aiohttp
import httpx
from aiokafka.partitioner import DefaultPartitioner

from benchmarks.bench import Bench
from benchmarks.cpu import CpuMeter
from benchmarks.processes import PeakMemory, Service, running
from benchmarks.report import Figures, Result, Row, percentile
from benchmarks.servers import analyze, fresh_database, fresh_topics, topic_prefix
from benchmarks.throughput import metric_sum
from benchmarks.workload import Event, Workload, encoded, kafka_key, produce, producer
from services.samples.portal_events import plan_set, submitted, unit_registered
from shared.contracts.base import LATEST_DATE
from shared.web.secrets import hash_secret

RATES = (1000, 5000)
PROBES_PER_SECOND = 10
PARTITIONS = 4
PROBE_PROVINCE = "probe"
PROBE_PHASE = "probe-1"
SETTLE_TIMEOUT_S = 180.0
WEBHOOK_SECRET = secrets.token_hex(16)
FAST = {"batch_timeout_ms": "20"}
"""Services flush partial batches after 20 ms instead of 200 ms: latency, not batch size."""


def probe_unit(rate: int, n: int) -> str:
    return f"probe-{rate}-{n}"


def probe_district(rate: int) -> str:
    """Each rate's probes are the children of a district of their own, so the ranking polled
    holds one rate's probes (300 units, as a large district has), not every rate's."""
    return f"probe-d-{rate}"


def probe_reference(probes: int) -> list[Event]:
    """The probe province under the national unit, each rate's district and units, and each
    district's plan: a count of 2, in a phase that runs until the end of the campaign era
    (the notifier decides thresholds only while a phase runs, by its clock)."""
    events = [unit_registered(PROBE_PROVINCE, "vn", "province")]
    for rate in RATES:
        district = probe_district(rate)
        events.append(unit_registered(district, PROBE_PROVINCE, "district"))
        events += [unit_registered(probe_unit(rate, n), district) for n in range(probes)]
        events.append(
            plan_set(
                district,
                [(PROBE_PHASE, "2022-01-01", LATEST_DATE.isoformat())],
                [{"phase_id": PROBE_PHASE, "kind": "count", "value": 2, "applies_to": "children"}],
            )
        )
    return events


@dataclass
class Arrivals:
    """When each probe unit was first seen: on the webhook, and in the query API."""

    webhook: dict[str, float] = field(default_factory=dict)
    query_api: dict[str, float] = field(default_factory=dict)


@asynccontextmanager
async def webhook_receiver(arrivals: Arrivals) -> AsyncIterator[str]:
    """A minimal HTTP server that notes the unit of every webhook; yields its URL."""

    async def receive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").lower()
        length = int(head.split("content-length:")[1].split("\r\n")[0])
        body = json.loads(await reader.readexactly(length))
        arrivals.webhook.setdefault(body["unit"]["id"], time.perf_counter())
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(receive, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    finally:
        server.close()


@dataclass
class Pipeline:
    """The four services of one run, and how to reach them."""

    ingest: Service
    projector: Service
    notifier: Service
    api: Service
    portal_topic: str
    token: str
    database_url: str

    @property
    def services(self) -> tuple[Service, ...]:
        return self.ingest, self.projector, self.notifier, self.api

    @asynccontextmanager
    async def api_client(self) -> AsyncIterator[aiohttp.ClientSession]:
        """A client of the query API that parses HTTP in C (aiohttp): the probes poll 50
        times a second, and the instrument should take as little of the cores it measures
        as it can. Idle connections are dropped before uvicorn's keep-alive timeout closes
        them from its side, which would race with a poll sent on them."""
        async with aiohttp.ClientSession(
            f"http://127.0.0.1:{self.api.port}",
            connector=aiohttp.TCPConnector(keepalive_timeout=1.0),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=aiohttp.ClientTimeout(total=30),
        ) as session:
            yield session

    async def probe_children(
        self, client: aiohttp.ClientSession, rate: int
    ) -> list[dict[str, object]]:
        async with client.get(
            f"/v1/units/{probe_district(rate)}/children", params={"phase_id": PROBE_PHASE}
        ) as response:
            if response.status == 404:
                return []
            response.raise_for_status()
            ranking: list[dict[str, object]] = (await response.json())["ranking"]
        return ranking

    async def subscribe(self, webhook: str) -> None:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"http://127.0.0.1:{self.notifier.port}/v1/subscriptions",
                headers={"Authorization": f"Bearer {self.token}"},
                json={
                    "official": "benchmark",
                    "unit_id": PROBE_PROVINCE,
                    "include_descendants": True,
                    "rules": ["threshold_crossed"],
                    "channel": "webhook",
                    "address": webhook,
                    "secret": WEBHOOK_SECRET,
                },
            )
        response.raise_for_status()

    async def settled(self, events: int, facts: int) -> bool:
        """Whether the ``events`` sent so far are stored and relayed, and the ``facts`` among
        them about initiatives projected (the projector counts only those)."""
        relayed = await metric_sum(self.ingest.metrics, "ingest_relay_published_events_total")()
        projected = await metric_sum(self.projector.metrics, "projector_events_applied_total")()
        return relayed >= events and projected >= facts


@asynccontextmanager
async def pipeline(bench: Bench, memory: PeakMemory) -> AsyncIterator[Pipeline]:
    prefix = topic_prefix()
    portal, events, changes = (f"{prefix}{name}" for name in ("portal", "events", "changes"))
    topics = [portal, events, changes, f"{portal}.dlq", f"{events}.dlq", f"{changes}.dlq"]
    token = secrets.token_hex(16)
    tokens = json.dumps({hash_secret(token): "*"})
    async with (
        fresh_database(bench.servers) as url,
        fresh_topics(bench.servers, topics, PARTITIONS),
        AsyncExitStack() as stack,
    ):
        common = {
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": bench.servers.kafka_bootstrap_servers,
        }
        services = {
            "ingest": {"INPUT_TOPIC": portal, "EVENTS_TOPIC": events, **FAST},
            "projector": {"EVENTS_TOPIC": events, "CHANGES_TOPIC": changes, **FAST},
            "notifier": {
                "CHANGES_TOPIC": changes,
                "TOKENS": tokens,
                # The benchmark's webhook receiver listens on loopback.
                "WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
                **FAST,
            },
            "api": {"TOKENS": tokens},
        }
        started = {}
        for name, settings in services.items():
            variable = f"INITIATIVES_{name.upper()}_"
            env = common | {variable + key: value for key, value in settings.items()}
            env[variable + "CONSUMER_GROUP"] = f"{prefix}{name}"
            started[name] = await stack.enter_async_context(
                running(name, [name], env, bench.logs, memory, variable + "HTTP_PORT")
            )
        yield Pipeline(**started, portal_topic=portal, token=token, database_url=url)


async def _wait_for_probe_units(pipe: Pipeline, units: int) -> None:
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    async with pipe.api_client() as client:
        for rate in RATES:
            while len(await pipe.probe_children(client, rate)) < units:
                if time.monotonic() > deadline:
                    raise TimeoutError("the reference data never reached the query API")
                await asyncio.sleep(0.5)


async def _watch_query_api(
    pipe: Pipeline, rate: int, sent: dict[str, float], arrivals: Arrivals
) -> None:
    """Poll the rate's probe district's ranking; note when each probe first counts. A poll
    whose connection the server closed (a keep-alive it timed out as the poll reused it) is
    asked again: the instrument must not end a run the pipeline did not fail."""
    async with pipe.api_client() as client:
        while True:
            try:
                ranking = await pipe.probe_children(client, rate)
            except aiohttp.ClientConnectionError:
                ranking = []
            now = time.perf_counter()
            for entry in ranking:
                unit = str(entry["unit_id"])
                if unit in sent and int(str(entry["value"])) > 0:
                    arrivals.query_api.setdefault(unit, now)
            await asyncio.sleep(0.02)


class Prepared(NamedTuple):
    value: bytes
    key: bytes
    partition: int


def prepare(load: Sequence[Event]) -> list[Prepared]:
    """The load encoded and partitioned before the clock starts, as aiokafka's default
    partitioner would place it (its murmur2 is pure Python): a portal encodes its events on
    its own machine, so the instrument leaves that work out of the cores it measures."""
    partitioner = DefaultPartitioner()
    partitions = list(range(PARTITIONS))
    prepared = []
    for event in load:
        key = kafka_key(event)
        prepared.append(Prepared(encoded(event), key, partitioner(key, partitions, partitions)))
    return prepared


async def _offer(
    pipe: Pipeline,
    bootstrap: str,
    rate: int,
    seconds: float,
    load: Sequence[Prepared],
    sent: dict[str, float],
) -> int:
    """Send ``load`` at ``rate`` events/s for ``seconds``, with probes spread over that time
    (noting in ``sent`` when each probe left); the number of load events sent."""
    probes = int(seconds * PROBES_PER_SECOND)
    sender = producer(bootstrap, linger_ms=5)
    try:
        await sender.start()
        started = time.perf_counter()
        done = 0
        while (elapsed := time.perf_counter() - started) < seconds:
            for value, key, partition in load[done : min(len(load), int(elapsed * rate))]:
                await sender.send(pipe.portal_topic, value, key=key, partition=partition)
                done += 1
            if len(sent) < probes and len(sent) <= elapsed * PROBES_PER_SECOND:
                unit = probe_unit(rate, len(sent))
                probe = submitted(f"i-{unit}", unit, at="2022-03-01T08:00:00+07:00")
                sent[unit] = time.perf_counter()
                await sender.send(pipe.portal_topic, encoded(probe), key=kafka_key(probe))
            await asyncio.sleep(0.002)
        await sender.flush()
    finally:
        await sender.stop()
    return done


async def _settle(
    pipe: Pipeline, sent: dict[str, float], arrivals: Arrivals, events: int, facts: int
) -> None:
    """Wait until every probe arrived both ways and the backlog is worked off (or time is up:
    probes still missing then are left out of the figures, which count the samples)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while time.monotonic() < deadline:
        arrived = sent.keys() <= arrivals.webhook.keys() & arrivals.query_api.keys()
        if arrived and await pipe.settled(events, facts):
            return
        await asyncio.sleep(0.2)


async def _warm_up(pipe: Pipeline, bootstrap: str, load: Sequence[Event], before: int) -> int:
    """Send ``load`` at once (after ``before`` events) and wait until it is projected: the
    measured rates then meet tables that already hold counts, as a server running for a
    while would (a plan made while an aggregate table was empty scans it whole for as long
    as the plan is cached)."""
    sent = await produce(bootstrap, pipe.portal_topic, load)
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while not await pipe.settled(before + sent, sent):
        if time.monotonic() > deadline:
            raise TimeoutError("the warm-up load was never projected")
        await asyncio.sleep(0.2)
    return sent


def _latencies(sent: dict[str, float], arrived: dict[str, float]) -> Figures:
    samples = [(arrived[unit] - at) * 1000 for unit, at in sent.items() if unit in arrived]
    if not samples:
        raise RuntimeError("no probe arrived")
    return {
        "p50_ms": percentile(samples, 0.5),
        "p99_ms": percentile(samples, 0.99),
        "samples": float(len(samples)),
    }


async def _once(
    bench: Bench, workload: Workload, seconds: int, warm_up: int, memory: PeakMemory
) -> dict[str, Figures]:
    probes = seconds * PROBES_PER_SECOND
    bootstrap = bench.servers.kafka_bootstrap_servers
    reference = workload.reference + probe_reference(probes)
    arrivals = Arrivals()
    figures: dict[str, Figures] = {}
    async with pipeline(bench, memory) as pipe, webhook_receiver(arrivals) as webhook:
        await produce(bootstrap, pipe.portal_topic, reference)
        await _wait_for_probe_units(pipe, probes)
        offset = await _warm_up(pipe, bootstrap, workload.activity[:warm_up], len(reference))
        await analyze(pipe.database_url)
        await pipe.subscribe(webhook)
        events, facts = len(reference) + offset, offset
        cpu = CpuMeter({s.name: s.process.pid for s in pipe.services} | {"benchmark": os.getpid()})
        for rate in RATES:
            load = prepare(workload.activity[offset : offset + rate * seconds])
            sent: dict[str, float] = {}
            watcher = asyncio.create_task(_watch_query_api(pipe, rate, sent, arrivals))
            cpu.mark()
            started = time.perf_counter()
            try:
                done = await _offer(pipe, bootstrap, rate, seconds, load, sent)
                offset += done
                events += done + len(sent)
                facts += done + len(sent)
                await _settle(pipe, sent, arrivals, events, facts)
            finally:
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
            used = cpu.since_mark(time.perf_counter() - started, done + len(sent))
            for path, arrived in (("query API", arrivals.query_api), ("webhook", arrivals.webhook)):
                row = _latencies(sent, arrived)
                row["achieved_per_s"] = (done + len(sent)) / seconds
                figures[f"{rate:,} events/s → {path}"] = row
            for name, row in used.items():
                figures[f"{rate:,} events/s: {name} CPU"] = row
    return figures


async def run(bench: Bench) -> Result:
    seconds = bench.sized(5, 30)
    # Activity projected before the first rate, so that the tables hold counts when the
    # planner's statistics are gathered.
    warm_up = bench.sized(2_000, 10_000)
    workload = Workload.at(bench.scale)
    if len(workload.activity) < warm_up + sum(RATES) * seconds:
        raise ValueError(
            f"scale {bench.scale} has {len(workload.activity):,} events: too few to offer "
            f"{' and '.join(map(str, RATES))} events/s for {seconds} s each after a warm-up "
            f"of {warm_up:,}"
        )
    memory = PeakMemory()
    runs = [await _once(bench, workload, seconds, warm_up, memory) for _ in range(bench.runs)]
    return Result(
        "latency",
        f"end-to-end latency at a steady offered load (median of {bench.runs})",
        [Row.of_runs(label, [run[label] for run in runs]) for label in runs[0]],
        {"seconds_per_rate": seconds, "probes_per_rate": seconds * PROBES_PER_SECOND},
        memory.mib,
    )
