"""Identical reads answered once, the answer shared for a fraction of a second and kept while
the data it was computed from has not changed.

Officials watching one province's dashboard send the same requests at the same time; each
would cost a few queries and the same serialisation. Within ``seconds`` of a computed answer,
requests with the same key get its bytes, and requests arriving while it is being computed
wait for it instead of computing it again. Only complete 200 answers are kept, so an error
is never repeated to anyone else. Readers therefore see figures at most ``seconds`` older
than the read models.

With a ``revision`` (a cheap read that changes whenever the data changes), an answer is also
kept for up to ``unchanged_seconds`` for as long as the revision is the one read before it
was computed: one small read instead of the answer's queries, and never an answer older than
the data. ``unchanged_seconds`` bounds only how old the parts of an answer that depend on the
time of day may be (a phase's pace, its days left).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

Key = Callable[[Scope], Hashable | None]
"""The key of a request's answer, or None when it must not be shared."""
Revision = Callable[[], Awaitable[Hashable]]
"""The data's revision now: equal before and after, nothing changed in between."""

_UNKNOWN = object()
"""The revision of an answer whose revision could not be read: equal to none."""


@dataclass
class _Answer:
    messages: list[Message] = field(default_factory=list)
    route: object = None
    """The route that computed it, so shared answers are labelled as computed ones."""
    expires: float = 0.0
    kept_until: float = 0.0
    revision: object = _UNKNOWN
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    complete: bool = False

    def stale(self, now: float) -> bool:
        """Neither shared nor kept any more."""
        return max(self.expires, self.kept_until) <= now


class SharedAnswers:
    def __init__(
        self,
        app: ASGIApp,
        *,
        seconds: float,
        key: Key,
        revision: Revision | None = None,
        unchanged_seconds: float = 0.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app = app
        self._seconds = seconds
        self._key = key
        self._revision = revision if unchanged_seconds > 0 else None
        self._unchanged_seconds = unchanged_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._answers: dict[Hashable, _Answer] = {}
        self._reading: asyncio.Future[object] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope) if scope["type"] == "http" and self._seconds > 0 else None
        if key is None:
            await self._app(scope, receive, send)
            return
        while (answer := self._answers.get(key)) is not None:
            if not answer.ready.is_set():
                await answer.ready.wait()
            if answer.complete and await self._holds(answer):
                scope["route"] = answer.route
                for message in answer.messages:
                    await send(message)
                return
            if self._answers.get(key) is answer:
                break  # no one is computing it again yet: this request does
        await self._compute(key, scope, receive, send)

    async def _holds(self, answer: _Answer) -> bool:
        """Whether ``answer`` may be given again: still shared, or kept and the data unchanged
        (then shared again for ``seconds``, so a burst reads the revision once)."""
        now = self._clock()
        if answer.expires > now:
            return True
        if answer.kept_until <= now or await self._current() != answer.revision:
            return False
        answer.expires = now + self._seconds
        return True

    async def _current(self) -> object:
        """The revision now; unknown without one, or when it cannot be read (the answer is
        then computed again, and reports whatever keeps the data from being read)."""
        if self._revision is None:
            return _UNKNOWN
        try:
            return await self._revision()
        except Exception as error:
            log.warning("cannot read the data's revision: %s", error)
            return _UNKNOWN

    async def _read_before(self) -> object:
        """The revision for an answer about to be computed, from a read that began before it.

        A read already under way serves every answer begun meanwhile: it began before their
        own reads, which is all an answer kept against it needs. Many clients asking for
        different units then share a revision read instead of each making one.
        """
        if self._reading is None:
            self._reading = asyncio.ensure_future(self._current())
            self._reading.add_done_callback(self._forget_reading)
        return await asyncio.shield(self._reading)

    def _forget_reading(self, reading: asyncio.Future[object]) -> None:
        if self._reading is reading:
            self._reading = None

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
            # Read before the answer's own reads: a change made meanwhile then shows as a
            # newer revision, never as an answer kept for data it does not hold.
            answer.revision = await self._read_before()
            await self._app(scope, receive, recording)
            answer.complete = ok and not answer.messages[-1].get("more_body", False)
            answer.route = scope.get("route")
            now = self._clock()
            answer.expires = now + self._seconds
            if answer.revision is not _UNKNOWN:  # nothing to compare it with later otherwise
                answer.kept_until = now + self._unchanged_seconds
        finally:
            answer.ready.set()
            if not answer.complete and self._answers.get(key) is answer:
                del self._answers[key]

    def _keep(self, key: Hashable, answer: _Answer) -> None:
        """Store ``answer``, first forgetting expired ones, then the oldest, beyond the bound."""
        self._answers.pop(key, None)
        if len(self._answers) >= self._max_entries:
            now = self._clock()
            for stale in [k for k, a in self._answers.items() if a.complete and a.stale(now)]:
                del self._answers[stale]
            while len(self._answers) >= self._max_entries:
                del self._answers[next(iter(self._answers))]
        self._answers[key] = answer
