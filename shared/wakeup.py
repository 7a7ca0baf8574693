"""A poller's pause between passes that finds nothing, ended early when work is announced.

Relays and workers poll a table because work may come from other processes; within one
process, whoever has just committed work for them says so, and the work leaves at once
instead of after the rest of the pause.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress


class Wakeup:
    def __init__(self) -> None:
        self._announced = asyncio.Event()

    def wake(self) -> None:
        """Work was committed: end the current pause, or skip the next one."""
        self._announced.set()

    async def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if work is announced meanwhile (or was since the last
        pause)."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._announced.wait(), seconds)
        self._announced.clear()
