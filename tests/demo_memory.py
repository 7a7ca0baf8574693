"""The demo's memory, measured in a process of its own: ``python -m tests.demo_memory DIR``
prints what the Python heap held after each round of simulated portal sends, as JSON.

Its own process, because ``tracemalloc`` counts every allocation of the interpreter: inside
the whole test run, anything earlier tests left running would be counted as the demo's growth
(the likely reason the check failed there now and then, while it always passed alone).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import sys
import tracemalloc
from pathlib import Path

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine

from services.demo.main import DemoOptions, RunningDemo, running_demo
from services.projector.tables import read_checkpoint
from services.projector.tailer import CHECKPOINT
from shared.eventstore.sql import SqlEventStore
from shared.persistence import progress_outbox
from tests.conftest import UTC7, FrozenClock
from tests.demo_settings import demo_settings

WARM_UP_TICKS = 200
"""Enough to fill the portal's bounded list of initiatives awaiting review."""
ROUND_TICKS = 250
SETTLE_SECONDS = 60


async def settled(engine: AsyncEngine) -> None:
    """Wait until every stored event is projected and every progress change judged: what
    is still in flight when the heap is measured would count as growth."""
    async with asyncio.timeout(SETTLE_SECONDS):
        while True:
            head = await SqlEventStore(engine).last_position()
            async with engine.connect() as connection:
                projected = await read_checkpoint(connection, CHECKPOINT)
            if projected == head and not await progress_outbox.backlog(engine):
                return
            await asyncio.sleep(0.1)


async def traced_after(demo: RunningDemo, clock: FrozenClock, ticks: int) -> int:
    """Memory still held once ``ticks`` more sends have been projected and judged."""
    assert demo.portal is not None
    for tick in range(ticks):
        clock.advance(seconds=2)
        await demo.portal.send_tick()
        if tick % 50 == 0:
            await asyncio.sleep(0.05)
    await settled(demo.engine)
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def rounds(directory: Path) -> list[int]:
    """Heap held after the warm-up and after each of two further rounds."""
    clock = FrozenClock(dt.datetime(2026, 11, 21, 10, 0, tzinfo=UTC7))
    options = DemoOptions(interval_seconds=0, sample_file=directory / "s.ndjson", portal_seed=3)
    settings = demo_settings(f"sqlite+aiosqlite:///{directory / 'demo.db'}")
    async with running_demo(options, settings, Console(quiet=True), clock) as demo:
        tracemalloc.start()
        try:
            return [
                await traced_after(demo, clock, ticks)
                for ticks in (WARM_UP_TICKS, ROUND_TICKS, ROUND_TICKS)
            ]
        finally:
            tracemalloc.stop()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(rounds(Path(sys.argv[1])))))
