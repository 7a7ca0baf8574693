"""Requests answered and the time they took, per route template, for every HTTP side.

Labelled by the route's template (``/v1/units/{unit_id}/progress``), never the raw path, so a
crawler or a typo cannot create a series per URL. A plain ASGI middleware: it sees the status
as it is sent and adds nothing to a streamed body.
"""

from __future__ import annotations

import time

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"
BUCKETS = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=registry,
        )
        self.seconds = Histogram(
            "http_request_seconds",
            "Time to answer an HTTP request, by route template",
            ["route", "method"],
            buckets=BUCKETS,
            registry=registry,
        )


class _Measured:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None)
            template = f"{scope.get('root_path', '')}{route}" if route else UNMATCHED
            method = scope["method"]
            self._metrics.requests.labels(template, method, str(status)).inc()
            self._metrics.seconds.labels(template, method).observe(time.perf_counter() - started)


def instrument(app: FastAPI, registry: CollectorRegistry) -> None:
    """Count and time every request ``app`` answers, into ``registry``."""
    app.add_middleware(_Measured, metrics=HttpMetrics(registry))
