"""Whether the notifier has heard every progress change published so far.

A deadline's outcome is judged once, so never on a copy still catching up (the first start
over a backlog, a restart after downtime). Inputs report the changes still waiting after
each batch (Kafka: the lag of the partitions in it; the embedded outbox: its backlog); the
figures are current once the latest report says none wait, or once the input has heard
nothing for ``quiet_seconds`` (a Kafka consumer with no lag receives no batch to report it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class Freshness:
    def __init__(
        self, quiet_seconds: float = 30.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._quiet = quiet_seconds
        self._monotonic = monotonic
        self._last_heard = monotonic()
        self._waiting: dict[str, int] = {}
        self.caught_up = asyncio.Event()
        """Set each time the inputs go from behind (or unknown) to nothing waiting."""

    def heard(self, source: str, waiting: int) -> None:
        """``waiting`` changes were still behind ``source`` (a partition, the outbox)."""
        was = self._reported_caught_up()
        self._waiting[source] = waiting
        self._last_heard = self._monotonic()
        if not was and self._reported_caught_up():
            self.caught_up.set()

    def current(self) -> bool:
        if self._reported_caught_up():
            return True
        return self._monotonic() - self._last_heard >= self._quiet

    def _reported_caught_up(self) -> bool:
        return bool(self._waiting) and not any(self._waiting.values())
