"""Every service logs one JSON object per line with its name and the caller's extra fields,
and reports a readiness check that hangs or fails as not ready, naming it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from shared.web.logging import configure_logging
from shared.web.ops import ops_router


@pytest.fixture
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restore_root_logger")
def test_a_log_line_is_one_json_object_with_the_service_and_the_extra_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("ingest", "debug")
    configure_logging("ingest", "debug")  # twice: still one line per record

    logging.getLogger("services.ingest.http").info(
        "events received from %s", "national-portal", extra={"event_id": "np-1", "accepted": 3}
    )

    [line] = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["message"] == "events received from national-portal"
    assert record["level"] == "INFO"
    assert record["logger"] == "services.ingest.http"
    assert record["service"] == "ingest"
    assert (record["event_id"], record["accepted"]) == ("np-1", 3)
    assert record["time"].endswith("+00:00")


async def test_a_hanging_or_failing_check_makes_the_service_not_ready_and_says_which() -> None:
    async def hangs() -> None:
        await asyncio.sleep(60)

    async def fails() -> None:
        raise ConnectionError("broker 127.0.0.1:9092 unreachable")

    async def passes() -> None:
        return None

    app = FastAPI()
    checks = {"kafka": fails, "database": passes, "cache": hangs}
    app.include_router(ops_router(CollectorRegistry(), checks, check_timeout=0.05))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "not ready",
        "checks": {
            "kafka": "broker 127.0.0.1:9092 unreachable",
            "database": "ok",
            "cache": "no answer within 0.05 s",
        },
    }
