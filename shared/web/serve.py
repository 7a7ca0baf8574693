"""Serve an ASGI app until SIGINT or SIGTERM, logging through the service's JSON logging and
counting every request into the service's metrics.

A service starts its HTTP side first, with a front that answers ``/healthz`` (the process is
alive) and a 503 ``/readyz`` saying what it waits for, and only then waits for its database
and broker; once they answer, the front hands every request to the service's own app. So an
orchestrator sees a live, unready pod during an outage instead of one that exits.

Every service is ``build(settings, transport)`` (:class:`Built`: its parts, app, metrics and
long-running parts) and runs through the one :func:`run`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import uvicorn
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.dependencies import Dependency, wait_for
from shared.heap import freeze_loaded
from shared.web.deadlines import ReadDeadlines
from shared.web.http_metrics import instrument
from shared.web.logging import configure_logging

if TYPE_CHECKING:
    from shared.messaging.transport import Transport


class ServiceSettings(Protocol):
    """What every long-running service's settings say about where it serves and what
    database it uses."""

    @property
    def http_host(self) -> str: ...

    @property
    def http_port(self) -> int: ...

    @property
    def database_url(self) -> str: ...


class Service(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


Opened = tuple[FastAPI, CollectorRegistry, Service | None]
"""What a service opens once its dependencies answer: its app, its metrics, its loops."""

Parts = TypeVar("Parts")
S = TypeVar("S", bound=ServiceSettings)


@dataclass(frozen=True)
class Built(Generic[Parts]):
    """A service built over a transport: its wired parts, its HTTP app and metrics, and its
    long-running parts (not started: :func:`run` starts them once the app is served, the
    demo once every service is built, a test when it likes)."""

    parts: Parts
    app: FastAPI
    metrics: CollectorRegistry
    background: Service


Build = Callable[[S, "Transport"], AbstractAsyncContextManager[Built[Parts]]]


def _config(app: ASGIApp, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        lifespan="off",
        http=ReadDeadlines,
        timeout_keep_alive=5,
        limit_concurrency=1000,
    )


async def serve_http(app: FastAPI, host: str, port: int, metrics: CollectorRegistry) -> None:
    instrument(app, metrics)
    await uvicorn.Server(_config(app, host, port)).serve()


class Front:
    """The ASGI app uvicorn serves: a starting page until ``app`` is set, then ``app``."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None
        self.waiting_for = "starting"

    def waiting(self, why: str) -> None:
        self.waiting_for = why

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is not None:
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] == "/healthz":
            answer = JSONResponse({"status": "ok"})
        else:
            waiting = {"status": "starting", "waiting_for": self.waiting_for}
            answer = JSONResponse(waiting, status_code=503, headers={"Retry-After": "5"})
        await answer(scope, receive, send)


@contextlib.asynccontextmanager
async def serving(host: str, port: int) -> AsyncIterator[tuple[Front, asyncio.Task[None]]]:
    """Serve a :class:`Front` on ``host:port`` from now on; the task ends at SIGINT/SIGTERM."""
    front = Front()
    server = uvicorn.Server(_config(front, host, port))
    task = asyncio.create_task(server.serve())
    try:
        yield front, task
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until_stopped(work: Awaitable[None], stopped: asyncio.Task[None]) -> bool:
    """Run ``work`` unless the server stops first; whether ``work`` finished."""
    running = asyncio.ensure_future(work)
    await asyncio.wait({running, stopped}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        running.result()
        return True
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    return False


def ready(front: Front, app: FastAPI, metrics: CollectorRegistry) -> None:
    """Hand every request from now on to ``app``, counted into ``metrics``."""
    instrument(app, metrics)
    front.app = app


async def run_when_ready(
    host: str,
    port: int,
    dependencies: Sequence[Dependency],
    opened: Callable[[], AbstractAsyncContextManager[Opened]],
) -> None:
    """Serve the front, wait for each dependency, then open the service and serve its app
    until SIGINT or SIGTERM (what opening it loaded is frozen out of garbage collection,
    :mod:`shared.heap`)."""
    async with serving(host, port) as (front, stopped):
        for what, check in dependencies:
            if not await until_stopped(wait_for(what, check, front.waiting), stopped):
                return
        async with opened() as (app, metrics, service):
            freeze_loaded()
            if service is not None:
                await service.start()
            try:
                ready(front, app, metrics)
                await stopped
            finally:
                if service is not None:
                    await service.stop()


async def run(
    name: str,
    build: Build[S, Parts],
    settings: S,
    transport: Transport,
    log_level: str = "INFO",
) -> None:
    """``initiatives <name>``: serve the front, wait for the database and the transport's
    brokers, build the service and serve it until SIGINT or SIGTERM."""
    configure_logging(name, log_level)

    @asynccontextmanager
    async def opened() -> AsyncIterator[Opened]:
        async with build(settings, transport) as built:
            yield built.app, built.metrics, built.background

    await run_when_ready(
        settings.http_host,
        settings.http_port,
        transport.dependencies(settings.database_url),
        opened,
    )
