"""Running benchmarks by name, alone or all in one go, with one set of servers."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from benchmarks import append, ingest, latency, memory, projection, query_api, rebuild
from benchmarks.bench import Bench
from benchmarks.national import NationalDatabase, national_database
from benchmarks.report import Result
from benchmarks.servers import servers


@dataclass
class Shared:
    """What several benchmarks of one run can use in turn (made on first use)."""

    bench: Bench
    stack: AsyncExitStack
    _national: NationalDatabase | None = field(default=None)

    async def national(self) -> NationalDatabase:
        if self._national is None:
            self._national = await self.stack.enter_async_context(national_database(self.bench))
        return self._national


Benchmark = Callable[[Bench, Shared], Awaitable[Result]]


async def _append(bench: Bench, _: Shared) -> Result:
    return await append.run(bench)


async def _ingest(bench: Bench, _: Shared) -> Result:
    return await ingest.run(bench)


async def _projection(bench: Bench, shared: Shared) -> Result:
    return await projection.run(bench, await shared.national())


async def _rebuild(bench: Bench, shared: Shared) -> Result:
    return await rebuild.run(bench, await shared.national())


async def _query(bench: Bench, shared: Shared) -> Result:
    return await query_api.run(bench, await shared.national())


async def _latency(bench: Bench, _: Shared) -> Result:
    return await latency.run(bench)


BENCHMARKS: dict[str, Benchmark] = {
    "append": _append,
    "ingest": _ingest,
    "projection": _projection,
    "rebuild": _rebuild,
    "query": _query,
    "latency": _latency,
}
"""In the order ``all`` runs them: the query API reads what rebuild left."""


async def run(
    names: Sequence[str], *, scale: float, runs: int, quick: bool, results: Path
) -> list[Result]:
    """Run the named benchmarks against one set of servers; print and save each result, and
    after several of them, the peak memory of every service they ran."""
    console = Console(stderr=True)
    done: list[Result] = []
    with servers() as found:
        bench = Bench(found, scale, runs, quick, results, console)
        async with AsyncExitStack() as stack:
            shared = Shared(bench, stack)
            for name in names:
                console.rule(f"{name} (scale {scale}, {runs} run{'s' if runs > 1 else ''})")
                result = await BENCHMARKS[name](bench, shared)
                result.context.setdefault("scale", scale)
                result.context.setdefault("runs", runs)
                done.append(_publish(result, bench))
    if len(done) > 1:
        done.append(_publish(memory.combined(result.peak_rss_mib for result in done), bench))
    return done


def _publish(result: Result, bench: Bench) -> Result:
    output = Console(width=None if sys.stdout.isatty() else 150)
    output.print(result.table())
    if result.peak_rss_mib:
        output.print(memory.line(result.peak_rss_mib))
    path = result.save(bench.results)
    bench.console.print(f"results: {path}")
    return result
