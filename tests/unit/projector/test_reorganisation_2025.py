"""The 2025 reorganisation on the embedded default (SQLite, in process): figures and "as of"
answers from before it stay, dissolved and merged units keep their figures, the successor's
restated view adds its predecessors', and a rebuild equals the live tables
(``tests/reorganisation.py``; the same scenario runs on Kafka + PostgreSQL in
``tests/integration``)."""

from __future__ import annotations

from pathlib import Path

from tests.reorganisation import EXPECTED, run


async def test_the_2025_reorganisation_keeps_history_and_restates_the_successor(
    tmp_path: Path,
) -> None:
    found = await run(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")

    assert found.pop("rebuild agrees")
    assert found == EXPECTED
