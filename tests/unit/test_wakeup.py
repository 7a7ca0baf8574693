"""A poller's pause ends as soon as work is announced, and lasts its full length otherwise."""

from __future__ import annotations

import asyncio
import time

from shared.wakeup import Wakeup


async def paused_seconds(wakeup: Wakeup, seconds: float) -> float:
    started = time.perf_counter()
    await wakeup.pause(seconds)
    return time.perf_counter() - started


async def test_a_wake_during_the_pause_ends_it() -> None:
    wakeup = Wakeup()
    pausing = asyncio.create_task(paused_seconds(wakeup, 30))
    await asyncio.sleep(0.05)
    wakeup.wake()

    assert await asyncio.wait_for(pausing, 5) < 1


async def test_a_wake_before_the_pause_skips_it_once() -> None:
    wakeup = Wakeup()
    wakeup.wake()

    assert await paused_seconds(wakeup, 30) < 1
    assert await paused_seconds(wakeup, 0.1) >= 0.1
