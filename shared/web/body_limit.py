"""A request body larger than an app accepts is refused before it is held in memory.

FastAPI reads a JSON body (and a form) whole before any dependency runs, the one that checks
the caller's token included, so without a limit anyone could make a service hold 100 MB.
This middleware answers 413 on a declared ``Content-Length`` over the limit, and stops a
streamed body as soon as it passes it.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(HTTPException):
    """Raised from inside the app's read of the body: an HTTP error, so a framework that
    turns other errors met while parsing into a 400 answers it as the 413 it is."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the body is larger than {limit} bytes, the most this API takes")


class BodyLimit:
    def __init__(self, app: ASGIApp, *, limit: int, exempt: Sequence[str] = ()) -> None:
        """``exempt``: path prefixes served by an app with a limit of its own (a mount)."""
        self._app = app
        self._limit = limit
        self._exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope["path"]).startswith(self._exempt):
            await self._app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self._limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self._limit:
                    raise _TooLarge(self._limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = _TooLarge(self._limit)
        answer = JSONResponse({"detail": refused.detail}, status_code=refused.status_code)
        await answer(scope, receive, send)
