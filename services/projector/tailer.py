"""Embedded mode: the projector follows the event store itself instead of Kafka.

With one writer there are no position gaps, so "everything after the checkpoint" is exact;
the checkpoint moves in the same transaction as the read models.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.metrics import ProjectorMetrics
from services.projector.projection import Projection
from services.projector.tables import read_checkpoint
from shared.clock import utc_now
from shared.contracts.recorded import RecordedEvent
from shared.eventstore.port import EventStore
from shared.failures import is_transient, reason

CHECKPOINT = "event-store-tail"

log = logging.getLogger(__name__)


class StoreTailer:
    def __init__(
        self,
        engine: AsyncEngine,
        store: EventStore,
        projection: Projection,
        metrics: ProjectorMetrics,
        *,
        batch_size: int,
        interval_seconds: float,
    ) -> None:
        self._engine = engine
        self._store = store
        self._projection = projection
        self._metrics = metrics
        self._batch_size = batch_size
        self._interval = interval_seconds

    async def checkpoint(self) -> int:
        async with self._engine.connect() as connection:
            return await read_checkpoint(connection, CHECKPOINT)

    async def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Apply everything appended since the checkpoint; the number of events read."""
        position = await self.checkpoint()
        total = 0
        while batch := await read_batch(self._store, position, self._batch_size):
            started = time.perf_counter()
            outcome = await self._projection.apply(
                batch, checkpoint=(CHECKPOINT, batch[-1].position)
            )
            self._metrics.observe(outcome, len(batch), time.perf_counter() - started)
            self._metrics.freshness.set((utc_now() - batch[-1].recorded_at).total_seconds())
            position = batch[-1].position
            total += len(batch)
            if progress is not None:
                progress(total)
        return total

    async def run(self) -> None:
        """Follow the store; an outage is one warning a pass (anything else ends the loop,
        whose supervisor logs and restarts it)."""
        while True:
            try:
                await self.catch_up()
            except Exception as error:
                if not is_transient(error):
                    raise
                log.warning("cannot follow the event store: %s; trying again", reason(error))
            await asyncio.sleep(self._interval)


async def read_batch(store: EventStore, after: int, size: int) -> list[RecordedEvent]:
    """The next ``size`` events after position ``after``."""
    batch: list[RecordedEvent] = []
    records = store.read_all(after=after, batch_size=size)
    async with contextlib.aclosing(records) as stream:  # type: ignore[type-var]
        async for record in stream:
            batch.append(record)
            if len(batch) == size:
                break
    return batch
