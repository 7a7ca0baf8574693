"""The campaign's vocabulary (``tests/vocabulary.py``) on real Kafka and PostgreSQL: the
same answers as on the embedded default, and a rebuild equals live."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.demo_settings import topics
from tests.infrastructure import Infrastructure, create_topics
from tests.vocabulary import EXPECTED, run

pytestmark = pytest.mark.integration


async def test_the_campaign_vocabulary_on_kafka_and_postgres(
    infrastructure: Infrastructure, postgres_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> None:
    bootstrap = infrastructure.kafka_bootstrap_servers
    await create_topics(bootstrap, topics(kafka_topic_prefix), partitions=3)

    found = await run(tmp_path, postgres_url, kafka=bootstrap, topic_prefix=kafka_topic_prefix)

    assert found.pop("rebuild agrees")
    assert found == EXPECTED
