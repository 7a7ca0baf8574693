"""Sustained throughput of a process that works through a known amount of events.

The clock starts at the first progress seen, not when the process was started: start-up
(imports, connecting, joining the consumer group) is a one-off cost, not a rate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from benchmarks.report import Figures

Count = Callable[[], Awaitable[float]]
STALL_S = 60.0


async def sustained_rate(
    count: Count, total: float, *, give_up_after: float, interval: float = 0.25
) -> Figures:
    """Poll ``count`` until it reaches ``total``: events, seconds and events/s. Gives up when
    the count stalls for a minute or the time is up."""
    started = time.perf_counter()
    first: tuple[float, float] | None = None
    last_change, last_value = started, 0.0
    while True:
        value = await count()
        now = time.perf_counter()
        if value >= total:
            break
        if first is None and value > 0:
            first = (now, value)
        if value != last_value:
            last_change, last_value = now, value
        if now - started > give_up_after or now - last_change > STALL_S:
            raise TimeoutError(f"{value:,.0f} of {total:,.0f} events after {now - started:.0f} s")
        await asyncio.sleep(interval)
    since, done_before = first or (started, 0.0)
    seconds = now - since
    return {"events": total, "seconds": seconds, "events_per_s": (total - done_before) / seconds}


def metric_sum(read: Callable[[], Awaitable[dict[str, float]]], *names: str) -> Count:
    """A count that adds up some of a service's Prometheus samples."""

    async def count() -> float:
        samples = await read()
        return sum(samples.get(name, 0.0) for name in names)

    return count
