"""Read deadlines uvicorn lacks: a client that sends its headers or its body too slowly is cut.

uvicorn closes an idle kept-alive connection, but a connection that sends half a request
line and then nothing stays open for good; a thousand of them hold a thousand sockets and
tasks (seen: 60 s and counting). Here a request must deliver its headers within
``HEADER_SECONDS`` of its first byte and its whole body within ``BODY_SECONDS`` of its headers.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_SECONDS = 10.0
BODY_SECONDS = 60.0
"""Enough for ingest's largest body (16 MiB) at about 300 kB/s."""


class ReadDeadlines(HttpToolsProtocol):
    _deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(HEADER_SECONDS)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(HEADER_SECONDS)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(BODY_SECONDS)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
