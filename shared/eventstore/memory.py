"""An in-memory event store for unit tests and fakes; same contract as the SQL adapter."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import asdict

from shared.clock import Clock, utc_now
from shared.contracts.recorded import NewEvent, RecordedEvent
from shared.eventstore.batch import fresh_events, outcomes, plan_versions
from shared.eventstore.port import AppendOutcome, OutboxBacklog, OutboxMessage


class InMemoryEventStore:
    def __init__(self, clock: Clock = utc_now, outbox: bool = True) -> None:
        self._clock = clock
        self._use_outbox = outbox
        self._events: list[RecordedEvent] = []
        self._streams: dict[str, list[RecordedEvent]] = defaultdict(list)
        self._event_ids: set[str] = set()
        self._outbox: dict[int, RecordedEvent] = {}

    async def append(
        self, events: Sequence[NewEvent], expected_versions: Mapping[str, int] | None = None
    ) -> list[AppendOutcome]:
        fresh = fresh_events(events, self._event_ids)
        current = {
            event.stream_id: len(self._streams[event.stream_id])
            for event in fresh
            if event.stream_id in self._streams
        }
        planned = plan_versions(fresh, current, expected_versions)
        recorded_at = self._clock()
        appended = {}
        for item in planned:
            record = RecordedEvent(
                position=len(self._events) + 1,
                stream_version=item.stream_version,
                recorded_at=recorded_at,
                **asdict(item.event),
            )
            self._events.append(record)
            self._streams[record.stream_id].append(record)
            self._event_ids.add(record.event_id)
            if self._use_outbox:
                self._outbox[record.position] = record
            appended[record.event_id] = (record.position, record.stream_version)
        return outcomes(events, appended)

    async def read_stream(
        self, stream_id: str, after_version: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        end = None if limit is None else after_version + limit
        return list(self._streams.get(stream_id, [])[after_version:end])

    async def read_streams(self, stream_ids: Collection[str]) -> dict[str, list[RecordedEvent]]:
        return {
            stream: list(self._streams[stream]) for stream in stream_ids if stream in self._streams
        }

    async def read_all(
        self, after: int = 0, batch_size: int = 1000
    ) -> AsyncIterator[RecordedEvent]:
        for record in self._events[after:]:
            yield record

    async def known_event_ids(self, event_ids: Collection[str]) -> set[str]:
        return {event_id for event_id in event_ids if event_id in self._event_ids}

    async def last_position(self) -> int:
        return len(self._events)

    async def outbox_batch(self, limit: int) -> list[OutboxMessage]:
        return [
            OutboxMessage(record.position, record.event_id, record.stream_id, record.to_wire())
            for record in (self._outbox[position] for position in sorted(self._outbox)[:limit])
        ]

    async def mark_published(self, positions: Collection[int]) -> None:
        for position in positions:
            self._outbox.pop(position, None)

    async def outbox_backlog(self) -> OutboxBacklog:
        oldest = min(self._outbox, default=None)
        return OutboxBacklog(
            size=len(self._outbox),
            oldest=None if oldest is None else self._outbox[oldest].recorded_at,
        )
