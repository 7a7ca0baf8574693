"""Requests are counted and timed per route template, so a URL per unit makes no new series."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from shared.web.http_metrics import UNMATCHED, instrument


def counted(registry: CollectorRegistry, route: str, status: str) -> float:
    value = registry.get_sample_value(
        "http_requests_total", {"route": route, "method": "GET", "status": status}
    )
    return value or 0.0


async def test_requests_are_counted_by_route_template_status_and_mount() -> None:
    inner = FastAPI()

    @inner.get("/v1/events/{event_id}")
    async def event(event_id: str) -> dict[str, str]:
        return {"event_id": event_id}

    app = FastAPI()

    @app.get("/v1/units/{unit_id}/progress")
    async def progress(unit_id: str) -> dict[str, str]:
        return {"unit_id": unit_id}

    app.mount("/ingest", inner)
    registry = CollectorRegistry()
    instrument(app, registry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for unit in ("bac-kan", "bache", "bac-kan"):
            await http.get(f"/v1/units/{unit}/progress")
        await http.get("/ingest/v1/events/e-1")
        await http.get("/no/such/page")

    assert counted(registry, "/v1/units/{unit_id}/progress", "200") == 3
    assert counted(registry, "/ingest/v1/events/{event_id}", "200") == 1
    assert counted(registry, UNMATCHED, "404") == 1
    timed = registry.get_sample_value(
        "http_request_seconds_count", {"route": "/v1/units/{unit_id}/progress", "method": "GET"}
    )
    assert timed == 3
