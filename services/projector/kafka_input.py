"""The projector's Kafka door: recorded events in batches, applied in one transaction each.

Records that are not a recorded event go to ``<topic>.dlq`` once the rest of their batch is
committed, and so do copies of events the projection quarantined; the consumer goes on.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka import ConsumerRecord
from pydantic import ValidationError

from services.projector.metrics import ProjectorMetrics
from services.projector.projection import Projection
from services.projector.quarantine import Quarantined
from shared.clock import utc_now
from shared.contracts.portal import describe
from shared.contracts.recorded import RecordedEvent, decode_recorded
from shared.dead_letters import DeadLetter, DeadLetterSink, Origin
from shared.messaging.batches import Records


async def quarantine_letters(
    projection: Projection,
    quarantined: Sequence[Quarantined],
    consumed: Mapping[int, ConsumerRecord[Any, Any]],
) -> list[DeadLetter]:
    """Copies of the quarantined events for the dead-letter topic, with the reason and where
    they came from (``consumed`` by position; a reference fact met while catching up comes
    from the store)."""
    letters = []
    for q in quarantined:
        record = consumed.get(q.position)
        if record is not None:
            raw, origin = record.value or b"", Origin.of_record(record)
        else:
            raw = await projection.stored_wire(q.stream_id, q.version)
            origin = Origin("store", detail=f"position {q.position}")
        letters.append(DeadLetter(raw, q.code, f"{q.stream_id}@{q.version}: {q.reason}", origin))
    return letters


def recorded_events_handler(
    projection: Projection,
    metrics: ProjectorMetrics,
    dead_letters: DeadLetterSink,
    changes_committed: Callable[[], None],
) -> Callable[[Records], Awaitable[None]]:
    """``changes_committed`` is called after a batch that stored progress changes."""

    async def handle(records: Records) -> None:
        events: list[RecordedEvent] = []
        consumed: dict[int, ConsumerRecord[Any, Any]] = {}
        letters: list[DeadLetter] = []
        for record in records:
            try:
                event = decode_recorded(record.value or b"")
            except ValidationError as error:
                letters.append(
                    DeadLetter(
                        record.value or b"",
                        "undecodable",
                        describe(error),
                        Origin.of_record(record),
                    )
                )
                continue
            events.append(event)
            consumed[event.position] = record
        started = time.perf_counter()
        outcome = await projection.apply(events)
        if outcome.changes:
            changes_committed()
        metrics.observe(outcome, len(records), time.perf_counter() - started)
        if events:
            newest = max(event.recorded_at for event in events)
            metrics.freshness.set((utc_now() - newest).total_seconds())
        metrics.undecodable.inc(len(letters))
        letters += await quarantine_letters(projection, outcome.quarantined, consumed)
        await dead_letters.send(letters)

    return handle
