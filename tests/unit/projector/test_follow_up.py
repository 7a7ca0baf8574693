"""The follow-up list (đôn đốc): the open units below one with a target in a running phase
and nothing submitted yet, or at risk, the most urgent first, inside the token's scope only.

Scenarios are written straight into the rm_* tables, as in ``test_query_api``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.api.app import create_query_app
from services.projector.api.follow_up import follow_up
from services.projector.api.queries import ReadModels
from services.projector.api.settings import QueryApiSettings
from services.projector.schema import rm_closure, rm_progress, rm_targets, rm_units
from shared.persistence.engine import create_engine
from shared.web.secrets import hash_secret
from tests.conftest import UTC7, FrozenClock
from tests.unit.projector.test_query_api import CAMPAIGN, closure, counts, get, target, unit_rows

ADMIN, PHU_AN, ON_HOA = "admin-token", "phu-an-token", "on-hoa-token"
TOKENS = {hash_secret(ADMIN): "*", hash_secret(PHU_AN): "pa", hash_secret(ON_HOA): "oh"}
NOW = dt.datetime(2022, 5, 12, 13, 30, tzinfo=UTC7)

PHASE_I = ("I", "Giai đoạn I", dt.date(2022, 1, 1), dt.date(2022, 5, 31))
PHASE_II = ("II", "Giai đoạn II", dt.date(2022, 6, 1), dt.date(2022, 12, 31))
WHOLE = ("", "", dt.date(2022, 1, 1), dt.date(2022, 12, 31))

# unit id, name, level, parent, cluster, state
UNITS = [
    ("pa", "LĐLĐ tỉnh Phú An", "province", None, None, "open"),
    ("oh", "LĐLĐ tỉnh Ôn Hòa", "province", None, None, "open"),
    ("pa-dx", "LĐLĐ huyện Đông Xuân", "district", "pa", None, "open"),
    ("pa-yl", "LĐLĐ huyện Yên Lạc", "district", "pa", None, "open"),
    ("pa-bs", "LĐLĐ huyện Bình Sơn", "district", "pa", None, "open"),
    ("pa-bs-th", "CĐCS Trường Tiểu học Bình Sơn", "grassroots", "pa-bs", None, "open"),
    ("pa-al", "LĐLĐ huyện An Lão", "district", "pa", None, "open"),
    ("pa-hv", "LĐLĐ huyện Hòa Vang", "district", "pa", None, "open"),
    ("pa-ch", "LĐLĐ huyện Cát Hải", "district", "pa", None, "open"),
    ("pa-es", "LĐLĐ huyện Ea Súp", "district", "pa", None, "open"),
    ("pa-cl", "LĐLĐ huyện Cam Lộ", "district", "pa", None, "closed"),
    ("pa-kt", "LĐLĐ huyện Kim Thành", "district", "pa", None, "open"),
    ("oh-1", "CĐCS Công ty Ôn Hòa", "grassroots", "oh", None, "open"),
]

# Phase I on 12 May 2022 13:30 (87 % gone; at risk below target × 0.87 × 0.9):
# unit → (required, metric, status counts)
PHASE_ONE: dict[str, tuple[int | None, str, dict[str, int]]] = {
    "pa": (1000, "submitted", {"under_review": 900}),
    "pa-dx": (40, "submitted", {"registered": 3}),  # registered is not submitted
    "pa-yl": (40, "submitted", {}),
    "pa-bs": (100, "submitted", {"under_review": 30}),
    "pa-bs-th": (5, "approved", {}),
    "pa-al": (100, "submitted", {"under_review": 60}),
    "pa-hv": (20, "approved", {"under_review": 30, "approved": 2}),
    "pa-ch": (100, "submitted", {"under_review": 85}),  # on track
    "pa-es": (10, "submitted", {"approved": 12}),  # achieved
    "pa-cl": (10, "submitted", {}),  # closed
    "pa-kt": (None, "submitted", {}),  # no target
    "oh-1": (10, "submitted", {}),
}


async def seed(engine: AsyncEngine) -> None:
    targets = [
        target(u, PHASE_I, required, metric) for u, (required, metric, _) in PHASE_ONE.items()
    ]
    targets += [target(u, PHASE_II, 50) for u in PHASE_ONE]
    targets += [target(u, WHOLE, None) for u in PHASE_ONE]
    progress = [
        {"unit_id": u, "campaign_id": CAMPAIGN, "phase_id": phase_id, **counts(**given)}
        for u, (_, _, given) in PHASE_ONE.items()
        for phase_id in ("I", "")
        if given
    ]
    async with engine.begin() as connection:
        await connection.execute(sa.insert(rm_units), unit_rows(UNITS))
        await connection.execute(sa.insert(rm_closure), closure(UNITS))
        await connection.execute(sa.insert(rm_targets), targets)
        await connection.execute(sa.insert(rm_progress), progress)


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    await seed(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(engine: AsyncEngine, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    settings = QueryApiSettings(tokens=TOKENS, page_size=4, shared_answer_seconds=0)
    transport = httpx.ASGITransport(app=create_query_app(engine, settings, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://query") as client:
        yield client


EXPECTED = [
    ("pa-bs-th", "no_submission"),
    ("pa-dx", "no_submission"),
    ("pa-yl", "no_submission"),
    ("pa-hv", "at_risk"),
    ("pa-bs", "at_risk"),
    ("pa-al", "at_risk"),
]
"""No submission first (by name without diacritics: Đông before Yên), then at risk by
ratio (Hòa Vang 0.1, Bình Sơn 0.3, An Lão 0.6)."""


async def test_units_without_a_submission_then_those_at_risk_are_listed_most_urgent_first(
    engine: AsyncEngine,
) -> None:
    entries = await follow_up(ReadModels(engine), "pa", CAMPAIGN, NOW)

    assert [(e.unit_id, e.reason) for e in entries] == EXPECTED
    dong_xuan, hoa_vang = entries[1], entries[3]
    assert dong_xuan.model_dump(mode="json") == {
        "reason": "no_submission",
        "unit_id": "pa-dx",
        "name": "LĐLĐ huyện Đông Xuân",
        "level": "district",
        "parent_id": "pa",
        "parent_name": "LĐLĐ tỉnh Phú An",
        "phase_id": "I",
        "phase_name": "Giai đoạn I",
        "ends_on": "2022-05-31",
        "days_left": 19,
        "metric": "submitted",
        "target": 40,
        "value": 0,
        "ratio": 0.0,
        "status": "at_risk",
        "submitted": 0,
    }
    # Its target counts approved initiatives: 2 of 20, though 32 were submitted.
    assert (hoa_vang.value, hoa_vang.submitted, hoa_vang.ratio) == (2, 32, 0.1)


async def test_the_api_pages_the_list_and_names_the_unit_campaign_and_instant(
    client: httpx.AsyncClient,
) -> None:
    first = await get(client, "/v1/units/pa/follow-up", PHU_AN)
    second = await get(client, "/v1/units/pa/follow-up", PHU_AN, campaign_id=CAMPAIGN, page=2)

    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["unit"]["unit_id"], body["campaign_id"], body["phase_id"]) == (
        "pa",
        CAMPAIGN,
        None,
    )
    assert body["evaluated_at"] == "2022-05-12T13:30:00+07:00"
    assert (body["page"], body["page_size"], body["total"]) == (1, 4, 6)
    items = [*body["items"], *second.json()["items"]]
    assert [(i["unit_id"], i["reason"]) for i in items] == EXPECTED


async def test_on_track_achieved_closed_untargeted_and_other_subtrees_are_not_listed(
    client: httpx.AsyncClient,
) -> None:
    listed = {
        item["unit_id"]
        for page in (1, 2)
        for item in (await get(client, "/v1/units/pa/follow-up", page=page)).json()["items"]
    }

    assert listed == {unit_id for unit_id, _ in EXPECTED}
    assert not listed & {"pa", "pa-ch", "pa-es", "pa-cl", "pa-kt", "oh-1"}


async def test_a_unit_outside_the_tokens_scope_cannot_be_asked(
    client: httpx.AsyncClient,
) -> None:
    refused = await get(client, "/v1/units/oh/follow-up", PHU_AN)
    below = await get(client, "/v1/units/pa-bs/follow-up", PHU_AN)
    above = await get(client, "/v1/units/pa/follow-up", ON_HOA)

    assert refused.status_code == 403
    assert [i["unit_id"] for i in below.json()["items"]] == ["pa-bs-th"]
    assert above.status_code == 403


async def test_a_phase_not_running_gives_an_empty_list_and_the_next_one_is_judged_in_time(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    later = await get(client, "/v1/units/pa/follow-up", phase_id="II")
    assert (later.json()["total"], later.json()["items"]) == (0, [])

    clock.advance(days=25)  # 6 June: phase II runs, nobody has submitted in it
    now = await get(client, "/v1/units/pa/follow-up")
    ended = await get(client, "/v1/units/pa/follow-up", phase_id="I")

    assert now.json()["total"] == 9  # every open unit below but the closed one
    assert {(i["phase_id"], i["reason"], i["days_left"]) for i in now.json()["items"]} == {
        ("II", "no_submission", 208)
    }
    assert ended.json()["total"] == 0
