"""Background loops of a service, stopped in order: inputs first, then outputs drained."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[None]] = []

    def start(self, loop: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(loop, name=name))

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
