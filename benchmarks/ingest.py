"""Sustained ingest: portal events on Kafka → validated → event store → relayed to Kafka.

The national workload's activity (every initiative fact) waits on a portal topic; each run
starts ``initiatives ingest`` on a fresh database that already holds the reference data
(units, campaign, plans) and a fresh consumer group, and counts until the relay has published
every event to ``initiatives.events``: the events are then durable and on their way out.
"""

from __future__ import annotations

from benchmarks.bench import Bench
from benchmarks.processes import PeakMemory, running
from benchmarks.report import Figures, Result, Row
from benchmarks.servers import fresh_database, fresh_topics, topic_prefix
from benchmarks.throughput import metric_sum, sustained_rate
from benchmarks.workload import Workload, append_to_store, produce
from services.ingest.settings import IngestSettings

PARTITIONS = 4
BATCH_SIZE: int = IngestSettings.model_fields["batch_size"].default
"""What operators run: the service's default."""


async def _once(bench: Bench, workload: Workload, portal: str, memory: PeakMemory) -> Figures:
    events_topic = f"{topic_prefix()}events"
    async with (
        fresh_database(bench.servers) as url,
        fresh_topics(bench.servers, [events_topic], PARTITIONS),
    ):
        await append_to_store(url, workload.reference, outbox=False)
        env = {
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": bench.servers.kafka_bootstrap_servers,
            "INITIATIVES_INGEST_INPUT_TOPIC": portal,
            "INITIATIVES_INGEST_EVENTS_TOPIC": events_topic,
            "INITIATIVES_INGEST_CONSUMER_GROUP": f"{events_topic}.ingest",
        }
        async with running(
            "ingest", ["ingest"], env, bench.logs, memory, "INITIATIVES_INGEST_HTTP_PORT"
        ) as ingest:
            published = metric_sum(ingest.metrics, "ingest_relay_published_events_total")
            total = len(workload.activity)
            return await sustained_rate(published, total, give_up_after=max(120, total / 200))


async def run(bench: Bench) -> Result:
    workload = Workload.at(bench.scale)
    portal = f"{topic_prefix()}portal"
    memory = PeakMemory()
    async with fresh_topics(bench.servers, [portal, f"{portal}.dlq"], PARTITIONS):
        await produce(bench.servers.kafka_bootstrap_servers, portal, workload.activity)
        runs = [await _once(bench, workload, portal, memory) for _ in range(bench.runs)]
    return Result(
        "ingest",
        f"ingest, Kafka → validated → PostgreSQL → Kafka (median of {bench.runs})",
        [Row.of_runs("sustained", runs)],
        {"partitions": PARTITIONS, "batch_size": BATCH_SIZE},
        memory.mib,
    )
