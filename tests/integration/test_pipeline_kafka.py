"""The whole pipeline on real Kafka and PostgreSQL: portal events → ingest → event store →
initiatives.events.v1 → projector → read models and progress.changes.v1, for the seed cases."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.api.app import create_query_app
from services.projector.api.settings import QueryApiSettings
from services.projector.changes import metric_value
from services.projector.schema import STATUS_COLUMNS, rm_progress, rm_targets
from services.samples import seed_cases
from shared.clock import utc_now
from shared.contracts.progress import ProgressChanged
from shared.web.secrets import hash_secret
from tests.infrastructure import Infrastructure, create_topics
from tests.kafka_tools import produce, read_topic, wait_until
from tests.running import (
    kafka_ingest_settings,
    kafka_projector_settings,
    running_ingest,
    running_projector,
)

pytestmark = pytest.mark.integration


async def figures(engine: AsyncEngine, unit_id: str) -> dict[str, tuple[int, int | None]]:
    """phase_id → (value of the target's metric, target)."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(
                rm_targets.c.phase_id, rm_targets.c.metric, rm_targets.c.required, rm_progress
            )
            .select_from(
                rm_targets.outerjoin(
                    rm_progress,
                    sa.and_(
                        rm_progress.c.unit_id == rm_targets.c.unit_id,
                        rm_progress.c.campaign_id == rm_targets.c.campaign_id,
                        rm_progress.c.phase_id == rm_targets.c.phase_id,
                    ),
                )
            )
            .where(rm_targets.c.unit_id == unit_id)
        )
        return {
            row.phase_id: (
                metric_value(row.metric, [row._mapping[c] or 0 for c in STATUS_COLUMNS]),
                row.required,
            )
            for row in rows
        }


def keyed(events: list[dict[str, Any]]) -> tuple[list[bytes], list[bytes | None]]:
    key = [str(e["data"].get("initiative_id", "reference")).encode() for e in events]
    return [json.dumps(e, ensure_ascii=False).encode() for e in events], list(key)


async def test_seed_cases_flow_from_portals_to_progress_and_changes(
    infrastructure: Infrastructure, postgres_url: str, kafka_topic_prefix: str
) -> None:
    bootstrap = infrastructure.kafka_bootstrap_servers
    p = kafka_topic_prefix
    ingest = kafka_ingest_settings(postgres_url, bootstrap, p)
    projector = kafka_projector_settings(postgres_url, bootstrap, p)
    topics = [f"{p}portal", f"{p}portal.dlq", f"{p}events", f"{p}events.dlq", f"{p}changes"]
    await create_topics(bootstrap, topics, partitions=3)
    submissions = seed_cases.ba_che_submissions() + seed_cases.bac_kan_submissions()

    async with running_ingest(ingest), running_projector(projector) as parts:
        await produce(
            bootstrap, ingest.input_topic, *keyed(seed_cases.hierarchy() + seed_cases.plans())
        )
        await produce(bootstrap, ingest.input_topic, *keyed(submissions))

        async def projected() -> bool:
            return (await figures(parts.engine, "bac-kan")).get("bk-1", (0, None))[0] == 475

        await wait_until(projected, within=90, what="Bắc Kạn projected")
        await wait_until(lambda: _ba_che_done(parts.engine), within=30, what="Ba Chẽ projected")
        as_of_12_may = await progress_as_of(parts.engine, "bac-kan", "2022-05-12T13:30:00+07:00")
        ba_che = await figures(parts.engine, "bache-khoi-cq")
        bac_kan = await figures(parts.engine, "bac-kan")
        national = await figures(parts.engine, "vgcl")
    changes = [
        ProgressChanged.model_validate_json(r.value)
        for r in await read_topic(bootstrap, projector.changes_topic, at_least=1)
    ]

    assert ba_che == {"bc-1": (20, 36), "bc-2": (3, 82), "": (23, 118)}
    assert bac_kan == {"bk-1": (475, 675), "bk-2": (0, 540), "bk-3": (0, 810), "": (475, 2025)}
    assert national == {}
    phase_1 = next(p for p in as_of_12_may["phases"] if p["phase_id"] == "bk-1")
    assert (phase_1["value"], phase_1["target"], phase_1["status"]) == (455, 675, "at_risk")
    assert round(phase_1["ratio"], 3) == 0.674
    last = {}
    for change in changes:
        last[(change.unit_id, change.phase_id)] = change
    assert last[("bac-kan", "bk-1")].after.value == 475
    assert last[("bac-kan", "bk-1")].after.target == 675
    assert last[("bache-khoi-cq", "bc-2")].after.value == 3


async def progress_as_of(engine: AsyncEngine, unit_id: str, as_of: str) -> dict[str, Any]:
    """The query API's answer, asked over HTTP as a dashboard would."""
    settings = QueryApiSettings(tokens={hash_secret("t"): "*"})
    app = create_query_app(engine, settings, clock=utc_now)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        response = await client.get(
            f"/v1/units/{unit_id}/progress",
            params={"as_of": as_of},
            headers={"Authorization": "Bearer t"},
        )
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


async def _ba_che_done(engine: AsyncEngine) -> bool:
    return (await figures(engine, "bache-khoi-cq")).get("", (0, None))[0] == 23
