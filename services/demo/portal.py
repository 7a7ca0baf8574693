"""A portal that keeps submitting, so the dashboard moves and notifications fire.

Every tick sends one new initiative of the synthetic province and, now and then, a review
of an earlier one, through the same door real portals use (ingest's intake embedded, the
portal topic with Kafka). It keeps a bounded list of what awaits review, so a demo left
running for days uses the same memory as after a minute.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from services.samples import province
from services.samples.portal_events import Event
from shared.clock import Clock

log = logging.getLogger(__name__)

Send = Callable[[Sequence[bytes]], Awaitable[None]]
"""Delivers raw portal events to ingest, as a portal would."""

PENDING_LIMIT = 100
REVIEW_SHARE = 0.4


class SimulatedPortal:
    def __init__(self, send: Send, clock: Clock, *, interval_seconds: float, seed: int) -> None:
        self._send = send
        self._clock = clock
        self._interval = interval_seconds
        self._rng = random.Random(seed)
        units = province.grassroots()
        # A few keen unions send most, so some cross their thresholds while you watch.
        self._keen = units[:: len(units) // 8]
        self._units = units
        self._pending: deque[str] = deque(maxlen=PENDING_LIMIT)
        # Ids stay unique across restarts of the demo on the same database.
        self._run = self._clock().strftime("%Y%m%dT%H%M%S")
        self._sent = 0
        self.submitted = 0
        self.reviewed = 0

    def tick(self) -> list[Event]:
        """The events of one tick: a submission, sometimes a review of an older one."""
        rng, now = self._rng, self._clock()
        self._sent += 1
        initiative_id = f"live-{self._run}-{self._sent}"
        unit = rng.choice(self._keen if rng.random() < 0.6 else self._units)
        events = [
            province.initiative(
                rng, initiative_id, unit.unit_id, now, event_id=f"{initiative_id}-s"
            )
        ]
        if len(self._pending) > 5 and rng.random() < REVIEW_SHARE:
            reviewed = self._pending.popleft()
            events.append(province.review(rng, reviewed, now, event_id=f"{reviewed}-r"))
        self._pending.append(initiative_id)
        return events

    async def send_tick(self) -> None:
        events = self.tick()
        await self._send([json.dumps(event, ensure_ascii=False).encode() for event in events])
        self.submitted += 1
        self.reviewed += len(events) - 1

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.send_tick()
            except Exception:
                log.exception("the simulated portal could not send; it tries again next tick")
