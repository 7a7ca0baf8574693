"""The campaign's vocabulary on the embedded default (SQLite, in process): v1 portal events
and a stored v1 event upcast, category codes and public servants in the breakdowns, an
update moving an initiative between buckets, participation in progress and breakdowns,
refused updates, and a rebuild equal to live (``tests/vocabulary.py``; the same scenario
runs on Kafka + PostgreSQL in ``tests/integration/test_scenarios_kafka.py``)."""

from __future__ import annotations

from pathlib import Path

from tests.vocabulary import EXPECTED, run


async def test_the_campaign_vocabulary_end_to_end(tmp_path: Path) -> None:
    found = await run(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")

    assert found.pop("rebuild agrees")
    assert found == EXPECTED
