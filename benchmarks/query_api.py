"""Query API latency and throughput on the national read models, 50 concurrent clients.

``initiatives api`` runs as its own process and the clients in another
(:mod:`benchmarks.http_load`), so neither takes CPU from the other's Python process; both
still share the machine's cores with PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sys

from benchmarks.bench import Bench
from benchmarks.national import NationalDatabase
from benchmarks.processes import PeakMemory, running
from benchmarks.rebuild import rebuild_once
from benchmarks.report import Figures, Result, Row
from shared.web.secrets import hash_secret

CLIENTS = 50
LARGEST_PROVINCE = "t0"
"""The generator puts about one district in twelve under ``t0``, as Hà Nội."""
NATIONAL = "vn"
QUERIES = {
    "progress, largest province": f"/v1/units/{LARGEST_PROVINCE}/progress",
    "children, largest province": f"/v1/units/{LARGEST_PROVINCE}/children",
    "progress, national unit": f"/v1/units/{NATIONAL}/progress",
    "children, national unit": f"/v1/units/{NATIONAL}/children",
}


async def clients(url: str, token: str, requests: int, warmup: int) -> Figures:
    """Run :mod:`benchmarks.http_load` against ``url`` in a process of its own."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.http_load",
        url,
        f"--token={token}",
        f"--clients={CLIENTS}",
        f"--requests={requests}",
        f"--warmup={warmup}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"the HTTP clients failed:\n{errors.decode()[-3000:]}")
    figures: Figures = json.loads(output)
    return figures


async def run(bench: Bench, national: NationalDatabase) -> Result:
    token = secrets.token_hex(16)
    env = {
        "DATABASE_URL": national.url,
        "INITIATIVES_API_TOKENS": json.dumps({hash_secret(token): "*"}),
    }
    requests = bench.sized(300, 2000)
    memory = PeakMemory()
    if not national.read_models_built:
        await rebuild_once(bench, national, PeakMemory())
    runs: dict[str, list[Figures]] = {label: [] for label in QUERIES}
    async with running("api", ["api"], env, bench.logs, memory, "INITIATIVES_API_HTTP_PORT") as api:
        for _ in range(bench.runs):
            for label, path in QUERIES.items():
                url = f"http://127.0.0.1:{api.port}{path}"
                runs[label].append(await clients(url, token, requests, warmup=CLIENTS * 2))
    return Result(
        "query",
        f"query API, {CLIENTS} clients in another process (median of {bench.runs})",
        [Row.of_runs(label, measured) for label, measured in runs.items()],
        {"clients": CLIENTS, "requests": requests, "events": national.events},
        memory.mib,
    )
