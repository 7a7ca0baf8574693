"""Identical reads answered once and the answer shared for a fraction of a second.

Officials watching one province's dashboard send the same requests at the same time; each
would cost a few queries and the same serialisation. Within ``seconds`` of a computed answer,
requests with the same key get its bytes, and requests arriving while it is being computed
wait for it instead of computing it again. Only complete 200 answers are kept, so an error
is never repeated to anyone else. Readers therefore see figures at most ``seconds`` older
than the read models.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Key = Callable[[Scope], Hashable | None]
"""The key of a request's answer, or None when it must not be shared."""


@dataclass
class _Answer:
    messages: list[Message] = field(default_factory=list)
    route: object = None
    """The route that computed it, so shared answers are labelled as computed ones."""
    expires: float = 0.0
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    complete: bool = False


class SharedAnswers:
    def __init__(
        self,
        app: ASGIApp,
        *,
        seconds: float,
        key: Key,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._seconds = seconds
        self._key = key
        self._max_entries = max_entries
        self._clock = clock
        self._answers: dict[Hashable, _Answer] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope) if scope["type"] == "http" and self._seconds > 0 else None
        if key is None:
            await self._app(scope, receive, send)
            return
        answer = self._answers.get(key)
        if answer is not None and not answer.ready.is_set():
            await answer.ready.wait()
        if answer is not None and answer.complete and answer.expires > self._clock():
            scope["route"] = answer.route
            for message in answer.messages:
                await send(message)
            return
        await self._compute(key, scope, receive, send)

    async def _compute(self, key: Hashable, scope: Scope, receive: Receive, send: Send) -> None:
        answer = _Answer()
        self._keep(key, answer)
        ok = False

        async def recording(message: Message) -> None:
            nonlocal ok
            if message["type"] == "http.response.start":
                ok = message["status"] == 200
            if ok:
                answer.messages.append(message)
            await send(message)

        try:
            await self._app(scope, receive, recording)
            answer.complete = ok and not answer.messages[-1].get("more_body", False)
            answer.route = scope.get("route")
            answer.expires = self._clock() + self._seconds
        finally:
            answer.ready.set()
            if not answer.complete and self._answers.get(key) is answer:
                del self._answers[key]

    def _keep(self, key: Hashable, answer: _Answer) -> None:
        """Store ``answer``, first forgetting expired ones, then the oldest, beyond the bound."""
        self._answers.pop(key, None)
        if len(self._answers) >= self._max_entries:
            now = self._clock()
            for stale in [k for k, a in self._answers.items() if a.complete and a.expires <= now]:
                del self._answers[stale]
            while len(self._answers) >= self._max_entries:
                del self._answers[next(iter(self._answers))]
        self._answers[key] = answer
