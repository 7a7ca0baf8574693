"""Background loops of a service, stopped in order: inputs first, then outputs drained.

A loop that dies is never silent: its exception is logged with the task's name, counted,
and the loop is started again after a pause that doubles up to a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from prometheus_client import Counter

log = logging.getLogger(__name__)

Loop = Callable[[], Coroutine[Any, Any, None]]
"""Makes a fresh run of a loop: a dead coroutine cannot be awaited again."""

FIRST_PAUSE_SECONDS = 1.0
MAX_PAUSE_SECONDS = 60.0
STEADY_SECONDS = 300.0
"""A run that lasted this long before dying starts the pauses afresh."""


class Backoff:
    """Pauses that double from ``first`` up to ``most``, so a retry never spins; ``reset``
    starts over after a success."""

    def __init__(self, first: float, most: float) -> None:
        self._first = first
        self._most = most
        self._pause = first

    def next(self) -> float:
        pause = self._pause
        self._pause = min(self._most, pause * 2)
        return pause

    def reset(self) -> None:
        self._pause = self._first


class BackgroundTasks:
    def __init__(self, restarts: Counter | None = None) -> None:
        """``restarts`` (labelled by ``task``) counts loops that died and were restarted."""
        self._tasks: list[asyncio.Task[None]] = []
        self._restarts = restarts

    def start(self, loop: Loop, name: str) -> None:
        self._tasks.append(asyncio.create_task(self._supervise(loop, name), name=name))

    async def _supervise(self, loop: Loop, name: str) -> None:
        pauses = Backoff(FIRST_PAUSE_SECONDS, MAX_PAUSE_SECONDS)
        while True:
            started = asyncio.get_running_loop().time()
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task died; restarting", extra={"task": name})
            else:
                log.error("background task returned; restarting", extra={"task": name})
            if self._restarts is not None:
                self._restarts.labels(name).inc()
            if asyncio.get_running_loop().time() - started > STEADY_SECONDS:
                pauses.reset()
            await asyncio.sleep(pauses.next())

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()


async def drain(relay_once: Callable[[], Awaitable[int]], attempts: int = 100) -> None:
    """Publish what is still waiting before a graceful stop; a failure is left for restart."""
    try:
        for _ in range(attempts):
            if not await relay_once():
                return
    except Exception:
        log.exception("could not drain before stopping; the rest goes out after restart")
