"""Scenarios that also run on the embedded default, on real Kafka and PostgreSQL: the same
answers, and a rebuild equals live. The 2025 reorganisation (``tests/reorganisation.py``)
and the campaign's vocabulary (``tests/vocabulary.py``)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests import reorganisation, vocabulary
from tests.demo_settings import topics
from tests.infrastructure import Infrastructure, create_topics

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("scenario", [reorganisation, vocabulary], ids=lambda m: m.__name__)
async def test_the_scenario_on_kafka_and_postgres(
    scenario: ModuleType,
    infrastructure: Infrastructure,
    postgres_url: str,
    kafka_topic_prefix: str,
    tmp_path: Path,
) -> None:
    bootstrap = infrastructure.kafka_bootstrap_servers
    await create_topics(bootstrap, topics(kafka_topic_prefix), partitions=3)

    found = await scenario.run(
        tmp_path, postgres_url, kafka=bootstrap, topic_prefix=kafka_topic_prefix
    )

    assert found.pop("rebuild agrees")
    assert found == scenario.EXPECTED
