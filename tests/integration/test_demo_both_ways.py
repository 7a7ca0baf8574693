"""One scenario, two transports: the demo's sample and a simulated portal's submissions
projected on the embedded default (SQLite, in process) and on real Kafka + PostgreSQL give
identical read models."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from services.demo.main import DemoOptions, running_demo
from tests.conftest import UTC7, FrozenClock
from tests.demo_settings import demo_settings, topics
from tests.infrastructure import Infrastructure, create_topics
from tests.kafka_tools import wait_until
from tests.read_models import dump

pytestmark = pytest.mark.integration

NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=UTC7)
TICKS = 25


async def run_scenario(options: DemoOptions, url: str, **kafka: str) -> Any:
    """Load the sample, send the portal's ticks, and return the converged read models."""
    settings = demo_settings(url, **kafka)
    async with running_demo(options, settings, Console(quiet=True), FrozenClock(NOW)) as demo:
        assert demo.portal is not None
        for _ in range(TICKS):
            await demo.portal.send_tick()
        settled: list[Any] = []

        async def unchanged_for_a_while() -> bool:
            settled.append(await dump(demo.engine))
            return len(settled) > 20 and settled[-1] == settled[-21]

        await wait_until(unchanged_for_a_while, within=180, what="read models settled")
        return settled[-1]


async def test_the_embedded_default_and_kafka_with_postgres_agree(
    infrastructure: Infrastructure, postgres_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> None:
    bootstrap = infrastructure.kafka_bootstrap_servers
    await create_topics(bootstrap, topics(kafka_topic_prefix), partitions=3)

    embedded = await run_scenario(
        DemoOptions(interval_seconds=0, portal_seed=7, sample_file=tmp_path / "embedded.ndjson"),
        f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
    )
    real = await run_scenario(
        DemoOptions(interval_seconds=0, portal_seed=7, sample_file=tmp_path / "real.ndjson"),
        postgres_url,
        kafka=bootstrap,
        topic_prefix=kafka_topic_prefix,
    )

    assert (tmp_path / "embedded.ndjson").read_bytes() == (tmp_path / "real.ndjson").read_bytes()

    assert sum(len(rows) for rows in embedded.values()) > 1000
    for table, rows in embedded.items():
        assert real[table] == rows, f"{table} differs"
