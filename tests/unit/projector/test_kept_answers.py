"""The query API gives a unit's answer again while the read models have not changed, and
computes it anew as soon as the projector applied a batch (``rm_revision``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.api.app import create_query_app
from services.projector.api.settings import QueryApiSettings
from services.projector.schema import rm_progress
from services.samples.portal_events import submitted
from shared.persistence.engine import create_engine
from shared.web.secrets import hash_secret
from tests.conftest import FrozenClock
from tests.unit.projector.test_projection import SCENARIO, ingest_and_project

TOKEN = "kept-answers-token"
SHARED_SECONDS = 0.001


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    yield engine
    await engine.dispose()


def submitted_in_phase_1(answer: httpx.Response) -> Any:
    phases = {phase["phase_id"]: phase for phase in answer.json()["phases"]}
    return phases["bk-1"]["submitted"]


async def test_an_answer_is_kept_until_a_batch_changes_the_read_models(
    engine: AsyncEngine,
) -> None:
    projection, _ = await ingest_and_project(engine, SCENARIO)
    settings = QueryApiSettings(
        tokens={hash_secret(TOKEN): "*"},
        shared_answer_seconds=SHARED_SECONDS,
        unchanged_answer_seconds=60,
    )
    app = create_query_app(engine, settings, clock=FrozenClock())
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://query", headers=headers
    ) as client:
        first = await client.get("/v1/units/bk/progress")
        async with engine.begin() as connection:  # behind the projector's back
            await connection.execute(sa.update(rm_progress).values(under_review=100))
        await asyncio.sleep(10 * SHARED_SECONDS)
        kept = await client.get("/v1/units/bk/progress")
        await ingest_and_project(
            engine, [submitted("sk-4", "bk-cdcs-1", at="2022-04-01T09:00:00+07:00")], projection
        )
        after_batch = await client.get("/v1/units/bk/progress")

    assert submitted_in_phase_1(first) == submitted_in_phase_1(kept) == 2
    assert submitted_in_phase_1(after_batch) > 2
