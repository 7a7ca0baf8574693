"""The events this process appended and has not published yet, encoded when the relay asks.

The relay would otherwise read every event back from the database (a join, ten columns, the
JSON parsed) only to encode it again, while the appender had it at hand. Rows another instance
appended, rows from before a restart, and rows beyond ``limit`` waiting are read instead.
Encoding waits for the relay: the append returns as soon as its statement does, and the relay
encodes while the next append waits on the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import NamedTuple

from shared.contracts.recorded import NewEvent
from shared.eventstore.port import OutboxMessage

LIMIT = 20_000
"""A relay that keeps up has a few thousand waiting at most."""


class _Kept(NamedTuple):
    event: NewEvent
    stream_version: int
    recorded_at: dt.datetime


class Unsent:
    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._kept: dict[int, _Kept] = {}

    def keep(
        self,
        events: Sequence[NewEvent],
        appended: Mapping[str, tuple[int, int]],
        recorded_at: dt.datetime,
    ) -> None:
        """Keep what fits of the stored ``events`` (event id → position, version in
        ``appended``; a repeated id is the first event's); the oldest are the first the relay
        asks for."""
        for event in events:
            if len(self._kept) >= self._limit:
                return
            stored = appended.get(event.event_id)
            if stored is not None:
                position, version = stored
                self._kept.setdefault(position, _Kept(event, version, recorded_at))

    def get(self, position: int) -> OutboxMessage | None:
        """The event at ``position`` as the relay sends it (times in UTC, as read back)."""
        kept = self._kept.get(position)
        if kept is None:
            return None
        event = kept.event
        wire = event.recorded_wire(position, kept.stream_version, kept.recorded_at)
        return OutboxMessage(position, event.event_id, event.stream_id, wire)

    def forget(self, positions: Collection[int]) -> None:
        for position in positions:
            self._kept.pop(position, None)
