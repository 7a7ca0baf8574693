"""Rebuild of every read model from the event store (``initiatives projector rebuild``).

Each run replays the whole national workload into shadow tables and swaps them in, as an
operator would (with the command's default batch size); the figure is the command's own
timing of the replay and swap, without the process start.
"""

from __future__ import annotations

import re

from benchmarks.bench import Bench
from benchmarks.national import NationalDatabase
from benchmarks.processes import PeakMemory, run_to_end
from benchmarks.report import Figures, Result, Row

REPORT = re.compile(r"rebuilt from ([\d,]+) events in ([\d.]+) s")


async def rebuild_once(bench: Bench, national: NationalDatabase, memory: PeakMemory) -> Figures:
    output = await run_to_end(
        "projector-rebuild",
        ["projector", "rebuild", "--restart"],
        {"DATABASE_URL": national.url},
        bench.logs,
        memory,
    )
    found = REPORT.search(output)
    if found is None:
        raise RuntimeError(f"no report in the rebuild's output:\n{output}")
    events, seconds = int(found[1].replace(",", "")), float(found[2])
    national.read_models_built = True
    return {"events": float(events), "seconds": seconds, "events_per_s": events / seconds}


async def run(bench: Bench, national: NationalDatabase) -> Result:
    memory = PeakMemory()
    runs = [await rebuild_once(bench, national, memory) for _ in range(bench.runs)]
    return Result(
        "rebuild",
        f"rebuild of every read model from the event store (median of {bench.runs})",
        [Row.of_runs("replay and swap", runs)],
        {"seconds_to_load_the_store": national.seconds_to_load},
        memory.mib,
    )
