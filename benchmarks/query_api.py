"""Query API latency and throughput on the national read models, 50 concurrent clients.

``initiatives api`` runs as its own process and the clients in another
(:mod:`benchmarks.http_load`), so neither takes CPU from the other's Python process; both
still share the machine's cores with PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import sys
from pathlib import Path

import sqlalchemy as sa

from benchmarks.bench import Bench
from benchmarks.national import NationalDatabase
from benchmarks.processes import PeakMemory, running
from benchmarks.rebuild import rebuild_once
from benchmarks.report import Figures, Result, Row
from shared.config import async_database_url
from shared.persistence.engine import create_engine
from shared.persistence.published import published_units
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
SPREAD = {
    "progress, different units of every level": "/v1/units/{}/progress",
    "children, different units of every level": "/v1/units/{}/children",
}
"""Each request asks for another unit, so the shared answer of identical requests (20 ms)
rarely applies: the figure the query API gives an audience of many officials."""
UNITS_PER_LEVEL = 500


async def spread_units(url: str, per_level: int = UNITS_PER_LEVEL, seed: int = 2022) -> list[str]:
    """Open units drawn at random, as many of each level as it has up to ``per_level``,
    shuffled (grassroots unions are 99 % of units: drawn uniformly, nearly every request
    would ask for one)."""
    engine = create_engine(async_database_url(url))
    try:
        async with engine.connect() as connection:
            units = published_units.c
            rows = await connection.execute(
                sa.select(units.unit_id, units.level).where(units.state == "open")
            )
            by_level: dict[str, list[str]] = {}
            for unit_id, level in rows:
                by_level.setdefault(level, []).append(unit_id)
    finally:
        await engine.dispose()
    rng = random.Random(seed)
    drawn = [
        unit
        for level in sorted(by_level)
        for unit in rng.sample(by_level[level], min(per_level, len(by_level[level])))
    ]
    rng.shuffle(drawn)
    return drawn


async def clients(
    url: str, token: str, requests: int, warmup: int, paths: Path | None = None
) -> Figures:
    """Run :mod:`benchmarks.http_load` against ``url`` (with ``paths``: the server's base URL
    and a file of the paths to ask in turn) in a process of its own."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.http_load",
        url,
        *([] if paths is None else [f"--paths={paths}"]),
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
    runs: dict[str, list[Figures]] = {label: [] for label in [*QUERIES, *SPREAD]}
    units = await spread_units(national.url)
    lists = {}
    for label, template in SPREAD.items():
        lists[label] = bench.logs / f"query-{label.split(',')[0]}-paths.txt"
        lists[label].parent.mkdir(parents=True, exist_ok=True)
        lists[label].write_text("".join(template.format(unit) + "\n" for unit in units))
    async with running("api", ["api"], env, bench.logs, memory, "INITIATIVES_API_HTTP_PORT") as api:
        base = f"http://127.0.0.1:{api.port}"
        for _ in range(bench.runs):
            for label, path in QUERIES.items():
                runs[label].append(await clients(base + path, token, requests, CLIENTS * 2))
            for label, listed in lists.items():
                runs[label].append(await clients(base, token, requests, CLIENTS * 2, listed))
    return Result(
        "query",
        f"query API, {CLIENTS} clients in another process (median of {bench.runs})",
        [Row.of_runs(label, measured) for label, measured in runs.items()],
        {
            "clients": CLIENTS,
            "requests": requests,
            "events": national.events,
            "different_units": len(units),
        },
        memory.mib,
    )
