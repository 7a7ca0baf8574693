"""Live projection: recorded events on Kafka → ``initiatives projector`` → read models, side by
side with a bare aiokafka consumer that only reads and decodes the same topic (the limit).

Each run empties the read models and starts the projector with a fresh consumer group on the
national workload's topic, and counts events until it has applied them all. Outside quick
mode, one more run each with 2 and 4 projector processes in one group (the topic's
partitions shared among them) gives the scaling curve.
"""

from __future__ import annotations

import json
import time
import uuid
from contextlib import AsyncExitStack

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer

from benchmarks.bench import Bench
from benchmarks.national import PARTITIONS, NationalDatabase
from benchmarks.processes import PeakMemory, running
from benchmarks.report import Figures, Result, Row
from benchmarks.throughput import metric_sum, sustained_rate
from services.projector.read_models import TABLES
from services.projector.settings import ProjectorSettings
from shared.config import async_database_url
from shared.persistence.engine import create_engine
from shared.persistence.progress_outbox import progress_outbox

BATCH_SIZE: int = ProjectorSettings.model_fields["batch_size"].default
"""What operators run, and what the bare consumer asks Kafka for at a time."""
PROCESSED = (
    "projector_events_applied_total",
    "projector_events_duplicate_total",
    "projector_events_unknown_type_total",
)


async def _empty_read_models(url: str) -> None:
    engine = create_engine(async_database_url(url))
    try:
        async with engine.begin() as connection:
            names = ", ".join(f'"{table.name}"' for table in [*TABLES, progress_outbox])
            await connection.execute(sa.text(f"TRUNCATE {names}"))
    finally:
        await engine.dispose()


WORKERS = (2, 4)
"""Projector processes in one consumer group, beside the single one, outside quick mode."""


async def _projector(
    bench: Bench, national: NationalDatabase, memory: PeakMemory, workers: int = 1
) -> Figures:
    await _empty_read_models(national.url)
    env = {
        "DATABASE_URL": national.url,
        "KAFKA_BOOTSTRAP_SERVERS": bench.servers.kafka_bootstrap_servers,
        "INITIATIVES_PROJECTOR_EVENTS_TOPIC": national.events_topic,
        "INITIATIVES_PROJECTOR_CHANGES_TOPIC": f"{national.events_topic}.changes",
        "INITIATIVES_PROJECTOR_CONSUMER_GROUP": f"bench-projector-{uuid.uuid4().hex[:8]}",
    }
    async with AsyncExitStack() as stack:
        projectors = [
            await stack.enter_async_context(
                running(
                    "projector",
                    ["projector"],
                    env,
                    bench.logs,
                    memory,
                    "INITIATIVES_PROJECTOR_HTTP_PORT",
                )
            )
            for _ in range(workers)
        ]
        counts = [metric_sum(projector.metrics, *PROCESSED) for projector in projectors]

        async def processed() -> float:
            return sum([await count() for count in counts])

        total = national.initiative_facts
        return await sustained_rate(processed, total, give_up_after=max(120, total / 200))


async def bare_consumer(bootstrap: str, topic: str, total: int) -> Figures:
    """Read and JSON-decode ``total`` records; events/s from the first batch on."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=8 << 20,
    )
    try:
        await consumer.start()
        done = 0
        first: tuple[float, int] | None = None
        deadline = time.perf_counter() + max(120, total / 1000)
        while done < total:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"bare consumer: {done:,} of {total:,} records")
            batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH_SIZE)
            for records in batches.values():
                for record in records:
                    json.loads(record.value)
                done += len(records)
            if first is None and done:
                first = (time.perf_counter(), done)
        assert first is not None
        seconds = time.perf_counter() - first[0]
        return {"events_per_s": (total - first[1]) / seconds}
    finally:
        await consumer.stop()


async def run(bench: Bench, national: NationalDatabase) -> Result:
    memory = PeakMemory()
    runs = []
    for _ in range(bench.runs):
        figures = await _projector(bench, national, memory)
        limit = await bare_consumer(
            bench.servers.kafka_bootstrap_servers, national.events_topic, national.events
        )
        figures["bare_events_per_s"] = limit["events_per_s"]
        runs.append(figures)
    rows = [Row.of_runs("Kafka → read models", runs)]
    bare = rows[0].figures["bare_events_per_s"]
    for workers in () if bench.quick else WORKERS:
        figures = await _projector(bench, national, memory, workers)
        rows.append(Row.of_runs(f"the same, {workers} projector processes (1 run)", [figures]))
    national.read_models_built = True
    for row in rows:
        row.figures["ratio_of_bare"] = row.figures["events_per_s"] / bare
    return Result(
        "projection",
        f"live projection (median of {bench.runs})",
        rows,
        {"partitions": PARTITIONS, "batch_size": BATCH_SIZE},
        memory.mib,
    )
