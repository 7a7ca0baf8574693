"""Identical reads within the sharing window are computed once; nothing else is shared."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import httpx
from fastapi import FastAPI, HTTPException
from prometheus_client import CollectorRegistry
from starlette.types import Scope

from shared.web.http_metrics import instrument
from shared.web.shared_answers import SharedAnswers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def by_path(scope: Scope) -> Hashable | None:
    return None if scope["path"].startswith("/private") else (scope["path"], scope["query_string"])


def counting_app(computed: list[str], *, delay: float = 0.0) -> FastAPI:
    app = FastAPI()

    @app.get("/figures/{name}")
    async def figures(name: str) -> dict[str, object]:
        computed.append(name)
        await asyncio.sleep(delay)
        if name == "missing":
            raise HTTPException(404, "no such figures")
        return {"name": name, "computed": len(computed)}

    @app.get("/private/{name}")
    async def private(name: str) -> dict[str, object]:
        computed.append(name)
        return {"computed": len(computed)}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_an_answer_is_shared_within_the_window_and_computed_again_after_it() -> None:
    computed: list[str] = []
    clock = Clock()
    app = counting_app(computed)
    app.add_middleware(SharedAnswers, seconds=0.05, key=by_path, clock=clock)
    async with client(app) as http:
        first = await http.get("/figures/t0")
        clock.now = 0.049
        again = await http.get("/figures/t0")
        other_query = await http.get("/figures/t0?phase=2")
        clock.now = 0.051
        later = await http.get("/figures/t0")

    assert first.json() == again.json() == {"name": "t0", "computed": 1}
    assert again.headers["content-type"] == "application/json"
    assert other_query.json()["computed"] == 2
    assert later.json()["computed"] == 3
    assert computed == ["t0", "t0", "t0"]


async def test_requests_arriving_while_an_answer_is_computed_wait_for_it() -> None:
    computed: list[str] = []
    app = counting_app(computed, delay=0.05)
    app.add_middleware(SharedAnswers, seconds=1.0, key=by_path)
    async with client(app) as http:
        answers = await asyncio.gather(*(http.get("/figures/vn") for _ in range(20)))

    assert computed == ["vn"]
    assert {answer.json()["computed"] for answer in answers} == {1}


async def test_errors_and_unkeyed_requests_are_never_shared() -> None:
    computed: list[str] = []
    app = counting_app(computed)
    app.add_middleware(SharedAnswers, seconds=60.0, key=by_path)
    async with client(app) as http:
        missing = [await http.get("/figures/missing") for _ in range(2)]
        private = [(await http.get("/private/x")).json()["computed"] for _ in range(2)]

    assert [answer.status_code for answer in missing] == [404, 404]
    assert private == [3, 4]
    assert computed == ["missing", "missing", "x", "x"]


async def test_the_oldest_answers_are_forgotten_beyond_the_bound() -> None:
    computed: list[str] = []
    app = counting_app(computed)
    app.add_middleware(SharedAnswers, seconds=60.0, key=by_path, max_entries=2)
    async with client(app) as http:
        for name in ("a", "b", "c", "c", "b", "a"):
            await http.get(f"/figures/{name}")

    assert computed == ["a", "b", "c", "a"]


async def test_shared_answers_are_counted_under_their_route() -> None:
    app = counting_app([])
    app.add_middleware(SharedAnswers, seconds=60.0, key=by_path)
    registry = CollectorRegistry()
    instrument(app, registry)
    async with client(app) as http:
        for _ in range(3):
            await http.get("/figures/t0")

    labels = {"route": "/figures/{name}", "method": "GET", "status": "200"}
    assert registry.get_sample_value("http_requests_total", labels) == 3


class Revisions:
    """The data's revision as a test sets it, counting how often it was read."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.now: object = 1
        self.reads = 0
        self.delay = delay

    async def __call__(self) -> object:
        self.reads += 1
        await asyncio.sleep(self.delay)
        if isinstance(self.now, Exception):
            raise self.now
        return self.now


def keeping_app(
    computed: list[str], clock: Clock, revisions: Revisions, *, kept: float, delay: float = 0.0
) -> FastAPI:
    """Answers shared for 50 ms, then kept for ``kept`` seconds while ``revisions`` agree."""
    app = counting_app(computed, delay=delay)
    app.add_middleware(
        SharedAnswers,
        seconds=0.05,
        key=by_path,
        revision=revisions,
        unchanged_seconds=kept,
        clock=clock,
    )
    return app


async def test_an_answer_is_kept_while_the_revision_is_unchanged_and_no_longer() -> None:
    computed: list[str] = []
    clock, revisions = Clock(), Revisions()
    app = keeping_app(computed, clock, revisions, kept=2.0)
    async with client(app) as http:
        first = await http.get("/figures/t0")
        clock.now = 1.0
        unchanged = await http.get("/figures/t0")
        clock.now = 1.01
        shared_again = await http.get("/figures/t0")
        revisions.now = 2
        clock.now = 1.1
        changed = await http.get("/figures/t0")
        clock.now = 3.2
        too_old = await http.get("/figures/t0")

    assert first.json()["computed"] == unchanged.json()["computed"] == 1
    assert shared_again.json()["computed"] == 1
    assert changed.json()["computed"] == 2
    assert too_old.json()["computed"] == 3
    # read before each computation (3) and to give a kept answer again (2); not within the
    # shared window that a kept answer opens again
    assert revisions.reads == 5


async def test_without_a_readable_revision_an_answer_is_only_shared() -> None:
    computed: list[str] = []
    clock, revisions = Clock(), Revisions()
    revisions.now = ConnectionError("the database is down")
    app = keeping_app(computed, clock, revisions, kept=60.0)
    async with client(app) as http:
        answers = []
        for now in (0.0, 0.01, 1.0):
            clock.now = now
            answers.append((await http.get("/figures/t0")).json()["computed"])

    assert answers == [1, 1, 2]


async def test_requests_finding_a_changed_revision_compute_the_answer_once() -> None:
    computed: list[str] = []
    clock, revisions = Clock(), Revisions()
    app = keeping_app(computed, clock, revisions, kept=60.0, delay=0.05)
    async with client(app) as http:
        await http.get("/figures/vn")
        clock.now, revisions.now = 1.0, 2
        answers = await asyncio.gather(*(http.get("/figures/vn") for _ in range(20)))

    assert computed == ["vn", "vn"]
    assert {answer.json()["computed"] for answer in answers} == {2}


async def test_answers_begun_while_the_revision_is_read_share_that_read() -> None:
    computed: list[str] = []
    clock, revisions = Clock(), Revisions(delay=0.05)
    app = keeping_app(computed, clock, revisions, kept=60.0)
    async with client(app) as http:
        await asyncio.gather(*(http.get(f"/figures/u{n}") for n in range(20)))
        clock.now, revisions.now = 1.0, 2
        again = await http.get("/figures/u0")
        clock.now = 2.0
        kept = await http.get("/figures/u0")

    assert revisions.reads == 1 + 2 + 1  # one shared read; u0 found changed and computed; kept
    assert again.json()["computed"] == kept.json()["computed"] == 21
