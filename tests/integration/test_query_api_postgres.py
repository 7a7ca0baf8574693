"""The query API's SQL runs on a real PostgreSQL server: current and "as of" progress, the
children ranking, searches without diacritics, the follow-up list, and the BI views."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.pipeline import IngestPipeline
from services.projector.api.app import create_query_app
from services.projector.api.follow_up import follow_up
from services.projector.api.queries import ReadModels
from services.projector.api.settings import QueryApiSettings
from services.samples.portal_events import CAMPAIGN as SAMPLE_CAMPAIGN
from services.samples.portal_events import CAMPAIGN_NAME, campaign_defined
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine, create_read_engine
from tests.conftest import FrozenClock
from tests.unit.projector import test_follow_up
from tests.unit.projector.test_query_api import ADMIN, BA_CHE, CAMPAIGN, TOKENS, by_phase, seed

pytestmark = pytest.mark.integration


@pytest.fixture
async def engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(postgres_url)
    await seed(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(engine: AsyncEngine, postgres_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The API on the seeded database through the engine ``initiatives api`` uses."""
    reader = create_read_engine(postgres_url)
    app = create_query_app(reader, QueryApiSettings(tokens=TOKENS), clock=FrozenClock())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://query") as client:
        yield client
    await reader.dispose()


async def test_progress_now_and_as_of_on_postgresql(client: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    now = await client.get("/v1/units/bk/progress", headers=auth)
    as_of = await client.get(
        "/v1/units/bk-cdcs-1/progress", params={"as_of": "2022-05-12T13:30:00+07:00"}, headers=auth
    )

    one = by_phase(now.json())["1"]
    assert (one["value"], one["target"], round(one["ratio"], 3), one["status"]) == (
        455,
        675,
        0.674,
        "at_risk",
    )
    one = by_phase(as_of.json())["I"]
    assert (one["submitted"], one["approved"]) == (2, 0)


async def test_ranking_search_and_initiatives_on_postgresql(client: httpx.AsyncClient) -> None:
    auth = {"Authorization": f"Bearer {ADMIN}"}
    ranking = await client.get("/v1/units/vn/children", headers=auth)
    found = await client.get("/v1/units", params={"q": "ba che"}, headers=auth)
    titles = await client.get("/v1/units/vn/initiatives", params={"q": "sang kien"}, headers=auth)
    refused = await client.get(
        "/v1/units/hl/progress", headers={"Authorization": f"Bearer {BA_CHE}"}
    )

    assert [c["unit_id"] for c in ranking.json()["ranking"]] == ["hy", "bk", "qn"]
    assert [u["unit_id"] for u in found.json()["items"]] == ["bc-cq", "bc"]
    assert [i["initiative_id"] for i in titles.json()["items"]] == ["sk-1", "sk-4"]
    assert refused.status_code == 403


async def test_the_follow_up_list_on_postgresql(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        await test_follow_up.seed(engine)
        entries = await follow_up(ReadModels(engine), "pa", CAMPAIGN, test_follow_up.NOW)
    finally:
        await engine.dispose()

    assert [(e.unit_id, e.reason) for e in entries] == test_follow_up.EXPECTED


async def test_the_bi_views_created_by_the_migrations_read_on_postgresql(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        progress = (
            await connection.execute(
                sa.text(
                    "SELECT value, ratio FROM v_progress WHERE unit_id = 'bk' AND phase_id = '1'"
                )
            )
        ).one()
        last = (
            await connection.execute(
                sa.text(
                    "SELECT day, submitted_cumulative FROM v_series WHERE unit_id = 'bk' "
                    "ORDER BY day DESC LIMIT 1"
                )
            )
        ).one()

    assert (progress.value, round(progress.ratio, 3)) == (455, 0.674)
    assert (last.day, last.submitted_cumulative) == (dt.date(2022, 5, 4), 14)


async def test_campaign_names_come_from_the_reference_stream_on_postgresql(
    postgres_url: str,
) -> None:
    engine = create_engine(postgres_url)
    try:
        await IngestPipeline(SqlEventStore(engine, outbox=False)).submit([campaign_defined()])
        names = await ReadModels(engine).campaign_names([SAMPLE_CAMPAIGN, "unknown"])
    finally:
        await engine.dispose()

    assert names == {SAMPLE_CAMPAIGN: CAMPAIGN_NAME, "unknown": "unknown"}
