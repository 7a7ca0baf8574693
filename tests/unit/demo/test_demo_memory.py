"""A demo left running stays flat: what the simulated portal sends is projected, judged and
forgotten by the process; only the database grows."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import tracemalloc
from pathlib import Path

from rich.console import Console

from services.demo.main import DemoOptions, RunningDemo, running_demo
from tests.conftest import UTC7, FrozenClock
from tests.demo_settings import demo_settings

WARM_UP_TICKS = 200
"""Enough to fill the portal's bounded list of initiatives awaiting review."""
ROUND_TICKS = 250
ALLOWED_GROWTH_BYTES = 120_000
"""Per round of 250 ticks: under 500 bytes a tick, far below what keeping any event, row or
decision would take. What remains is pydantic-core's bounded cache of JSON strings filling."""


async def traced_after(demo: RunningDemo, clock: FrozenClock, ticks: int) -> int:
    """Memory still held once ``ticks`` more sends have been projected and judged."""
    assert demo.portal is not None
    for tick in range(ticks):
        clock.advance(seconds=2)
        await demo.portal.send_tick()
        if tick % 50 == 0:
            await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def test_memory_stays_flat_while_the_portal_keeps_sending(tmp_path: Path) -> None:
    clock = FrozenClock(dt.datetime(2026, 11, 21, 10, 0, tzinfo=UTC7))
    options = DemoOptions(interval_seconds=0, sample_file=tmp_path / "s.ndjson", portal_seed=3)
    settings = demo_settings(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    async with running_demo(options, settings, Console(quiet=True), clock) as demo:
        tracemalloc.start()
        try:
            await traced_after(demo, clock, WARM_UP_TICKS)
            first = await traced_after(demo, clock, ROUND_TICKS)
            second = await traced_after(demo, clock, ROUND_TICKS)
        finally:
            tracemalloc.stop()
    print(f"memory held after a further {ROUND_TICKS} ticks: {second - first:+,} bytes")
    assert second - first < ALLOWED_GROWTH_BYTES
