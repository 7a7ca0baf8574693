"""Portals send events over HTTP with their own API key and get one verdict per event back, in
the order sent; the operations endpoints tell an orchestrator and Prometheus how ingest is."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from services.cli import app as cli
from services.ingest.components import IngestComponents, ingest_components
from services.ingest.http import create_ingest_app, hash_api_key
from services.ingest.pipeline import ConflictsPersisted
from services.ingest.settings import IngestSettings
from services.ingest.verdicts import Verdict
from services.samples.portal_events import campaign_defined, reviewed, small_tree, submitted
from shared.dead_letters import Origin
from shared.messaging.transport import transport_for
from shared.persistence.engine import create_engine
from shared.web.ops import database_ready

KEY = "np-7f3a9c-secret"
AUTH = {"X-API-Key": KEY}
BODY_LIMIT = 16 * 1024


def ndjson(lines: Iterable[dict[str, Any] | str]) -> bytes:
    return "\n".join(
        line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines
    ).encode()


@pytest.fixture
async def parts(sqlite_url: str) -> AsyncIterator[IngestComponents]:
    settings = IngestSettings(
        database_url=sqlite_url,
        kafka_bootstrap_servers=None,
        api_keys={"national-portal": hash_api_key(KEY)},
        max_body_bytes=BODY_LIMIT,
        batch_size=2,
    )
    async with ingest_components(settings, transport_for(settings)) as components:
        yield components


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        yield client


@pytest.fixture
async def client(parts: IngestComponents) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(create_ingest_app(parts)) as client:
        yield client


def statuses(response: httpx.Response) -> list[tuple[str, str | None]]:
    return [(r["status"], r["code"]) for r in response.json()["results"]]


async def test_one_event_object_is_accepted_and_stored(
    client: httpx.AsyncClient, parts: IngestComponents
) -> None:
    event = campaign_defined(event_id="c-1")

    response = await client.post("/v1/events", json=event, headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    [result] = body["results"]
    assert result["index"] == 0
    assert result["event_id"] == "c-1"
    assert result["status"] == "accepted"
    assert result["code"] is None
    assert result["message"] is None
    assert isinstance(result["position"], int)
    assert body["summary"] == {"accepted": 1, "duplicate": 0, "rejected": 0, "parked": 0}
    assert [r.event_id for r in await parts.store.read_stream("reference")] == ["c-1"]


async def test_an_array_gets_one_verdict_per_event_in_order_across_batches(
    client: httpx.AsyncClient, parts: IngestComponents
) -> None:
    events = [
        *small_tree(),
        submitted("sk-1", "bk-cdcs-1"),
        reviewed("initiative.withdrawn", "sk-1"),
        reviewed("initiative.approved", "sk-1"),
        submitted("sk-2", "bk-cdcs-1", at="2022-05-12T10:00:00"),
        reviewed("initiative.approved", "sk-unknown", event_id="early-review"),
    ]

    response = await client.post("/v1/events", json=events, headers=AUTH)

    assert response.status_code == 200
    assert statuses(response) == [
        *[("accepted", None)] * 8,
        ("rejected", "invalid_transition"),
        ("rejected", "naive_timestamp"),
        ("parked", "unknown_initiative"),
    ]
    results = response.json()["results"]
    assert [r["index"] for r in results] == list(range(11))
    assert [r["event_id"] for r in results] == [e["event_id"] for e in events]
    assert results[8]["message"] == "cannot approve initiative 'sk-1': it is withdrawn"
    assert response.json()["summary"] == {
        "accepted": 8,
        "duplicate": 0,
        "rejected": 2,
        "parked": 1,
    }
    [waiting] = await parts.parking.take(10)
    assert waiting.event_id == "early-review"
    assert waiting.origin == Origin("http", detail="national-portal")


async def test_ndjson_is_read_line_by_line_and_a_broken_line_is_only_that_line_rejected(
    client: httpx.AsyncClient, parts: IngestComponents
) -> None:
    body = ndjson([campaign_defined(event_id="c-1"), "", '{"event_id": "x", oops', "  "])
    body += b"\r\n" + ndjson([submitted("sk-1", "vn", event_id="s-1")]) + b"\n"

    response = await client.post(
        "/v1/events", content=body, headers={**AUTH, "Content-Type": "application/x-ndjson"}
    )

    assert response.status_code == 200
    assert statuses(response) == [
        ("accepted", None),
        ("rejected", "malformed_json"),
        ("parked", "unknown_unit"),
    ]
    assert [r["index"] for r in response.json()["results"]] == [0, 1, 2]
    assert await parts.store.known_event_ids(["c-1", "s-1"]) == {"c-1"}


async def test_sending_the_same_events_again_reports_duplicates_and_stores_nothing_new(
    client: httpx.AsyncClient, parts: IngestComponents
) -> None:
    events = small_tree()
    first = await client.post("/v1/events", json=events, headers=AUTH)

    again = await client.post("/v1/events", json=events, headers=AUTH)

    assert {r["status"] for r in first.json()["results"]} == {"accepted"}
    assert statuses(again) == [("duplicate", None)] * len(events)
    assert again.json()["summary"]["duplicate"] == len(events)
    assert len(await parts.store.read_stream("reference")) == len(events)


async def test_a_bearer_token_is_accepted_like_the_api_key_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/events", json=campaign_defined(), headers={"Authorization": f"Bearer {KEY}"}
    )

    assert response.status_code == 200
    assert statuses(response) == [("accepted", None)]


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-API-Key": "guessed"}, {"Authorization": "Bearer guessed"}, {"Authorization": KEY}],
    ids=["no key", "unknown key", "unknown bearer", "not a bearer scheme"],
)
async def test_a_request_without_a_known_key_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, parts: IngestComponents, headers: dict[str, str]
) -> None:
    response = await client.post(
        "/v1/events", json=campaign_defined(event_id="c-1"), headers=headers
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "X-API-Key" in response.json()["detail"]
    assert await parts.store.known_event_ids(["c-1"]) == set()


async def test_with_no_key_configured_everything_is_refused_with_how_to_configure_keys(
    parts: IngestComponents,
) -> None:
    unconfigured = parts.settings.model_copy(update={"api_keys": {}})
    app = create_ingest_app(dataclasses.replace(parts, settings=unconfigured))

    async with serving(app) as client:
        response = await client.post("/v1/events", json=campaign_defined(), headers=AUTH)

    assert response.status_code == 401
    assert "INITIATIVES_INGEST_API_KEYS" in response.json()["detail"]
    assert "initiatives api-key-hash" in response.json()["detail"]


def test_a_key_configured_in_clear_instead_of_hashed_stops_the_app_from_being_built(
    parts: IngestComponents,
) -> None:
    clear = parts.settings.model_copy(update={"api_keys": {"national-portal": KEY}})

    with pytest.raises(ValueError, match="'national-portal' is not configured as sha256"):
        create_ingest_app(dataclasses.replace(parts, settings=clear))


def test_the_api_key_hash_command_prints_what_to_configure() -> None:
    result = CliRunner().invoke(cli, ["api-key-hash", KEY])

    assert result.exit_code == 0
    assert result.stdout.strip() == "sha256:" + hashlib.sha256(KEY.encode()).hexdigest()
    assert result.stdout.strip() == hash_api_key(KEY)


async def _streamed(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 1000):
        yield body[start : start + 1000]


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_over_the_limit_is_refused_with_413_and_nothing_is_stored(
    client: httpx.AsyncClient, parts: IngestComponents, declared: bool
) -> None:
    events = [campaign_defined(event_id=f"c-{i}") for i in range(100)]
    body = ndjson(events)
    assert len(body) > BODY_LIMIT

    response = await client.post(
        "/v1/events",
        content=body if declared else _streamed(body),
        headers={**AUTH, "Content-Type": "application/x-ndjson"},
    )

    assert response.status_code == 413
    assert f"larger than {BODY_LIMIT} bytes" in response.json()["detail"]
    assert await parts.store.last_position() == 0


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"event_id": "c-1", oops', "not valid JSON"),
        (b"42", "JSON int"),
        (b"[" * 5_000 + b"]" * 5_000, "nested too deeply"),
        (json.dumps(campaign_defined()).encode("utf-16"), "'utf-8' codec can't decode"),
    ],
    ids=["unparseable", "neither object nor array", "deeply nested", "utf-16"],
)
async def test_a_json_body_that_cannot_be_read_at_all_is_a_400_with_the_reason(
    client: httpx.AsyncClient, body: bytes, reason: str
) -> None:
    response = await client.post(
        "/v1/events", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert reason in response.json()["detail"]


async def test_more_events_than_a_request_may_hold_are_refused_before_any_is_read(
    parts: IngestComponents,
) -> None:
    settings = parts.settings.model_copy(
        update={"max_events_per_request": 1000, "max_body_bytes": 4 * 1024 * 1024}
    )
    app = create_ingest_app(dataclasses.replace(parts, settings=settings))
    async with serving(app) as client:
        array = await client.post(
            "/v1/events",
            content=b"[" + b",".join([b"{}"] * 500_000) + b"]",
            headers={**AUTH, "Content-Type": "application/json"},
        )
        lines = await client.post(
            "/v1/events",
            content=b"\n".join([b"{}"] * 1001),
            headers={**AUTH, "Content-Type": "application/x-ndjson"},
        )

    assert (array.status_code, lines.status_code) == (413, 413)
    assert "holds 500000 events; the limit is 1000" in array.json()["detail"]
    assert await parts.store.last_position() == 0


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"occurred_at": "9999-12-31T23:59:59Z"}, "occurred_in_future"),
        ({"occurred_at": "9999-12-31T23:59:59-14:00"}, "occurred_in_future"),
        ({"occurred_at": "0001-01-01T00:00:00+14:00"}, "occurred_too_early"),
        ({"occurred_at": "1999-12-31T23:59:59Z"}, "occurred_too_early"),
        ({"occurred_at": 1652335200}, "invalid_envelope"),
        ({"event_id": "a\u0000b"}, "invalid_envelope"),
        ({"event_id": "tab\tin-id"}, "invalid_envelope"),
        ({"schema_version": 10**30}, "invalid_envelope"),
    ],
    ids=[
        "year 9999",
        "year 9999 at -14:00",
        "year 1 at +14:00",
        "before 2000",
        "a number of seconds",
        "NUL in the id",
        "control character in the id",
        "huge version",
    ],
)
async def test_implausible_events_are_rejected_with_a_code_that_says_why(
    client: httpx.AsyncClient, parts: IngestComponents, change: dict[str, Any], code: str
) -> None:
    event = {**campaign_defined(), **change}

    response = await client.post("/v1/events", json=event, headers=AUTH)

    assert response.status_code == 200
    assert statuses(response) == [("rejected", code)]
    assert await parts.store.last_position() == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"event_id": "x\\ud800", "type": "campaign.defined"}',
        b'{"event_id": "x", "data": {"name": ["\\udfff"]}}',
        b'{"event_id": "x", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
    ids=["lone surrogate in the id", "lone surrogate in an array", "deep nesting in a line"],
)
async def test_unreadable_lines_are_rejected_one_by_one_never_a_server_error(
    client: httpx.AsyncClient, raw: bytes
) -> None:
    response = await client.post(
        "/v1/events",
        content=raw + b"\n" + ndjson([campaign_defined()]),
        headers={**AUTH, "Content-Type": "application/x-ndjson"},
    )

    assert response.status_code == 200
    assert [status for status, _ in statuses(response)] == ["rejected", "accepted"]


async def test_a_body_in_another_format_is_a_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/events", content=b"event_id,type", headers={**AUTH, "Content-Type": "text/csv"}
    )

    assert response.status_code == 415
    assert "application/x-ndjson" in response.json()["detail"]


async def test_writers_that_keep_conflicting_make_a_503_the_portal_may_retry(
    client: httpx.AsyncClient, parts: IngestComponents, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def always_conflicting(*_: object, **__: object) -> list[Verdict]:
        raise ConflictsPersisted("still conflicting after 8 attempts")

    monkeypatch.setattr(parts.intake, "receive", always_conflicting)

    response = await client.post("/v1/events", json=campaign_defined(), headers=AUTH)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "sending the same events again is safe" in response.json()["detail"]


async def test_healthz_says_the_process_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_when_the_database_is_migrated(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


async def test_readyz_is_503_with_the_reason_on_an_unmigrated_database(
    parts: IngestComponents, tmp_path: Path
) -> None:
    empty = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    app = create_ingest_app(parts, readiness_checks={"database": database_ready(empty)})
    try:
        async with serving(app) as client:
            response = await client.get("/readyz")
    finally:
        await empty.dispose()

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert "run `initiatives migrate` first" in body["checks"]["database"]


async def test_metrics_expose_the_verdicts_in_prometheus_text_format(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/v1/events", json=campaign_defined(), headers=AUTH)

    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert (
        'ingest_events_total{code="",status="accepted",type="campaign.defined"} 1.0'
        in response.text
    )
    assert 'ingest_batch_size_count{channel="http"} 1.0' in response.text


async def test_the_openapi_document_describes_the_events_endpoint(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")

    operation = response.json()["paths"]["/v1/events"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert {"400", "401", "413"} <= set(operation["responses"])
    assert (await client.get("/docs")).status_code == 200
