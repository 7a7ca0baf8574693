"""A demo left running stays flat: what the simulated portal sends is projected, judged and
forgotten by the process; only the database grows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.demo_memory import ROUND_TICKS

ALLOWED_GROWTH_BYTES = 120_000
"""Per round of 250 ticks: under 500 bytes a tick, far below what keeping any event, row or
decision would take. What remains is bounded caches filling (SQLite's prepared statements per
connection). Events are decoded without caching their values in pydantic-core's global string
cache: when they were, its filling alone held 40 KB a round and the check failed now and then."""
ROOT = Path(__file__).parents[3]


def test_memory_stays_flat_while_the_portal_keeps_sending(tmp_path: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-m", "tests.demo_memory", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr[-3000:]
    _, first, second = json.loads(probe.stdout.strip().splitlines()[-1])

    print(f"memory held after a further {ROUND_TICKS} ticks: {second - first:+,} bytes")
    assert second - first < ALLOWED_GROWTH_BYTES
