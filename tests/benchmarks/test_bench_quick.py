"""``initiatives bench all --quick`` runs every benchmark to the end on the session's servers.

CI runs this through ``make test``: a benchmark that crashes fails the run. The figures are
not judged (CI machines are noisy), only that each benchmark wrote them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from benchmarks.suite import BENCHMARKS
from tests.infrastructure import Infrastructure

pytestmark = pytest.mark.integration

QUICK_RUN_TIMEOUT_S = 1200


async def test_every_benchmark_writes_positive_figures(
    infrastructure: Infrastructure, tmp_path: Path
) -> None:
    env = os.environ | {
        "DATABASE_URL": infrastructure.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": infrastructure.kafka_bootstrap_servers,
    }
    command = [sys.executable, "-m", "services.cli", "bench", "all", "--quick"]
    process = await asyncio.create_subprocess_exec(
        *command,
        "--results",
        str(tmp_path),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), QUICK_RUN_TIMEOUT_S)
    print(output.decode())  # the tables, in the test's captured output
    assert process.returncode == 0, output.decode()[-6000:]

    for name in [*BENCHMARKS, "memory"]:
        result = json.loads((tmp_path / f"{name}.json").read_text("utf-8"))
        assert result["rows"], name
        for row in result["rows"]:
            assert row["figures"], (name, row["label"])
            assert all(value > 0 for value in row["figures"].values()), (name, row)
    peaks = json.loads((tmp_path / "memory.json").read_text("utf-8"))["rows"]
    assert {row["label"] for row in peaks} >= {"ingest", "projector", "notifier", "api"}
