"""Every target of the seed cases judged once at its deadline on real Kafka + PostgreSQL
(``tests/seed_outcomes.py``; the same scenario runs on the embedded default in
``tests/unit/notifier/test_seed_outcomes.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.demo_settings import topics
from tests.infrastructure import Infrastructure, create_topics
from tests.seed_outcomes import EXPECTED, SHORTFALLS, run

pytestmark = pytest.mark.integration


async def test_every_target_gets_one_outcome_on_kafka_and_postgres_even_after_a_restart(
    infrastructure: Infrastructure, postgres_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> None:
    bootstrap = infrastructure.kafka_bootstrap_servers
    await create_topics(bootstrap, topics(kafka_topic_prefix), partitions=3)

    found = await run(tmp_path, postgres_url, kafka=bootstrap, topic_prefix=kafka_topic_prefix)

    assert dict(found["first"]) == EXPECTED
    assert found["first shortfalls"] == SHORTFALLS
    assert found["restarted"] == found["first"]
