"""Every target of the seed cases judged once at its deadline on the embedded default
(SQLite, in process); the same scenario runs on Kafka + PostgreSQL in
``tests/integration/test_seed_outcomes_kafka.py``."""

from __future__ import annotations

from pathlib import Path

from tests.seed_outcomes import EXPECTED, SHORTFALLS, run


async def test_every_target_gets_one_outcome_and_a_restart_decides_nothing_more(
    tmp_path: Path,
) -> None:
    found = await run(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")

    assert dict(found["first"]) == EXPECTED
    assert found["first shortfalls"] == SHORTFALLS
    assert found["restarted"] == found["first"]
