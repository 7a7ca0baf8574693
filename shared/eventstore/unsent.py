"""The wire bytes of events this process appended and has not published yet.

The relay would otherwise read every event back from the database (a join, ten columns, the
JSON parsed) only to encode it again, while the appender had it at hand. Rows another instance
appended, rows from before a restart, and rows beyond ``limit`` waiting are read instead.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from shared.eventstore.port import OutboxMessage

LIMIT = 20_000
"""About 10 MiB of wire bytes; a relay that keeps up has a few thousand waiting at most."""


class Unsent:
    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._messages: dict[int, OutboxMessage] = {}

    def keep(self, messages: Iterable[OutboxMessage]) -> None:
        """Keep what fits; the oldest are the first the relay asks for."""
        for message in messages:
            if len(self._messages) >= self._limit:
                return
            self._messages[message.position] = message

    def get(self, position: int) -> OutboxMessage | None:
        return self._messages.get(position)

    def forget(self, positions: Collection[int]) -> None:
        for position in positions:
            self._messages.pop(position, None)
