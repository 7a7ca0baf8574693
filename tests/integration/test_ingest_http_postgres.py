"""Events posted over HTTP are stored on a real PostgreSQL server, once."""

from __future__ import annotations

import httpx
import pytest

from services.ingest.components import ingest_components
from services.ingest.http import create_ingest_app, hash_api_key
from services.ingest.settings import IngestSettings
from services.samples.portal_events import reviewed, small_tree, submitted
from shared.messaging.transport import transport_for

pytestmark = pytest.mark.integration

KEY = "integration-portal-key"


async def test_posted_events_are_stored_on_postgresql_and_a_resend_is_a_duplicate(
    postgres_url: str,
) -> None:
    settings = IngestSettings(
        database_url=postgres_url,
        kafka_bootstrap_servers=None,
        api_keys={"national-portal": hash_api_key(KEY)},
    )
    events = [
        *small_tree(),
        submitted("sk-1", "bk-cdcs-1"),
        reviewed("initiative.approved", "sk-1"),
    ]

    async with ingest_components(settings, transport_for(settings)) as parts:
        transport = httpx.ASGITransport(app=create_ingest_app(parts))
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            first = await client.post("/v1/events", json=events, headers={"X-API-Key": KEY})
            again = await client.post("/v1/events", json=events, headers={"X-API-Key": KEY})
            ready = await client.get("/readyz")
        stored = [record async for record in parts.store.read_all()]

    assert first.status_code == 200
    assert first.json()["summary"] == {
        "accepted": len(events),
        "duplicate": 0,
        "rejected": 0,
        "parked": 0,
    }
    assert again.json()["summary"]["duplicate"] == len(events)
    assert [r.event_id for r in stored] == [e["event_id"] for e in events]
    assert [r.position for r in stored] == [r["position"] for r in first.json()["results"]]
    assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}
