"""What every event-store adapter promises, whatever holds the events.

Appends are atomic per batch and checked per stream against expected versions; an
``event_id`` seen before is reported as a duplicate and changes nothing, so a portal's
redelivery is harmless.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from shared.contracts.recorded import NewEvent, RecordedEvent


class ConcurrencyConflict(RuntimeError):
    """Another writer appended to one of the streams first; reload and decide again."""

    def __init__(self, stream_ids: Collection[str], detail: str = "") -> None:
        names = ", ".join(sorted(stream_ids)) or "unknown streams"
        super().__init__(f"concurrent append to {names}{': ' + detail if detail else ''}")
        self.stream_ids = frozenset(stream_ids)


class AppendOutcome(NamedTuple):
    """What happened to one event of a batch; ``duplicate`` ones were stored before.

    A named tuple: one is built per event, a frozen dataclass costs three times as much."""

    event_id: str
    stream_id: str
    position: int | None
    stream_version: int | None
    duplicate: bool


@dataclass(frozen=True)
class OutboxMessage:
    """An unpublished event as the relay sends it: ``wire`` is ``RecordedEvent.to_wire()``."""

    position: int
    event_id: str
    stream_id: str
    wire: bytes


@dataclass(frozen=True)
class OutboxBacklog:
    size: int
    oldest: dt.datetime | None


class EventStore(Protocol):
    async def append(
        self, events: Sequence[NewEvent], expected_versions: Mapping[str, int] | None = None
    ) -> list[AppendOutcome]:
        """Append in one transaction. ``expected_versions[stream]`` is the version the caller
        saw (0 for a new stream); streams not named are appended at their current end."""
        ...

    async def read_stream(
        self, stream_id: str, after_version: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        """The stream's events with a version above ``after_version``, in order (the first
        ``limit`` of them: the reference stream of a national campaign is 250,000 events)."""
        ...

    async def read_streams(self, stream_ids: Collection[str]) -> dict[str, list[RecordedEvent]]:
        """Several streams in one round trip; streams without events are absent."""
        ...

    def read_all(self, after: int = 0, batch_size: int = 1000) -> AsyncIterator[RecordedEvent]:
        """Every event with a position above ``after``, in position order, in constant memory."""
        ...

    async def known_event_ids(self, event_ids: Collection[str]) -> set[str]: ...

    async def last_position(self) -> int: ...

    async def outbox_batch(self, limit: int) -> list[OutboxMessage]:
        """Unpublished events, oldest position first."""
        ...

    async def mark_published(self, positions: Collection[int]) -> None: ...

    async def outbox_backlog(self) -> OutboxBacklog: ...
