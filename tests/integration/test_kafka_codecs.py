"""Portals produce with whatever codec their Kafka client is set to: events produced by the
Apache Kafka Java producer (the ``kafka-clients`` jar the local broker runs on) in gzip,
snappy, lz4 and zstd batches are all ingested."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from services.samples.portal_events import small_tree, submitted
from tests.infrastructure import REPO_ROOT, Infrastructure, create_topics
from tests.kafka_tools import produce, wait_until
from tests.running import kafka_ingest_settings, running_ingest

pytestmark = pytest.mark.integration

CODECS = ["gzip", "snappy", "lz4", "zstd"]
PER_CODEC = 50
PRODUCER = REPO_ROOT / "tests" / "java" / "ProduceCompressed.java"


def kafka_jars() -> Path:
    jars = (
        Path(os.environ.get("INFRA_CACHE_DIR", REPO_ROOT / "deploy" / "local" / "cache")) / "jars"
    )
    if not any(jars.glob("kafka-clients-*.jar")):
        pytest.fail(f"no kafka-clients jar in {jars}: run deploy/local/infra.sh up once")
    return jars


async def produce_with_java(bootstrap: str, topic: str, codec: str, lines: list[str]) -> None:
    process = await asyncio.create_subprocess_exec(
        "java",
        "-cp",
        f"{kafka_jars()}/*",
        str(PRODUCER),
        bootstrap,
        topic,
        codec,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate("\n".join(lines).encode())
    assert process.returncode == 0, output.decode(errors="replace")


async def test_every_codec_a_java_producer_uses_is_ingested(
    infrastructure: Infrastructure, postgres_url: str, kafka_topic_prefix: str
) -> None:
    bootstrap, p = infrastructure.kafka_bootstrap_servers, kafka_topic_prefix
    settings = kafka_ingest_settings(postgres_url, bootstrap, p)
    await create_topics(bootstrap, [f"{p}portal", f"{p}portal.dlq", f"{p}events"], partitions=2)
    tree = [json.dumps(event, ensure_ascii=False).encode() for event in small_tree()]
    await produce(bootstrap, settings.input_topic, tree, [b"reference"] * len(tree))
    for codec in CODECS:
        events = [submitted(f"{codec}-{n}", "bk-cdcs-1") for n in range(PER_CODEC)]
        lines = [
            f"{event['data']['initiative_id']}\t{json.dumps(event, ensure_ascii=False)}"
            for event in events
        ]
        await produce_with_java(bootstrap, settings.input_topic, codec, lines)

    async with running_ingest(settings) as parts:

        async def all_stored() -> bool:
            streams = {r.stream_id async for r in parts.store.read_all()}
            return all(
                f"initiative-{codec}-{n}" in streams for codec in CODECS for n in range(PER_CODEC)
            )

        await wait_until(all_stored, within=60, what="every codec's events stored")
        dead = [
            sample
            for metric in parts.metrics.registry.collect()
            for sample in metric.samples
            if sample.name == "ingest_dead_letters_total" and sample.value
        ]

    assert dead == []
