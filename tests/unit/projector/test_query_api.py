"""The query API answers dashboards from the read models: progress against targets with the
right status, exact "as of" figures, rankings, series, breakdowns, initiatives and printed
reports, and a token never reads figures outside its unit's subtree.

Scenarios are written straight into the rm_* tables, so these tests prove the API alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import zipfile
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.api.app import create_query_app
from services.projector.api.settings import QueryApiSettings
from services.projector.schema import (
    STATUS_COLUMNS,
    rm_breakdowns,
    rm_closure,
    rm_initiative_history,
    rm_initiatives,
    rm_lineage,
    rm_progress,
    rm_series_daily,
    rm_target_history,
    rm_targets,
    rm_units,
)
from shared.contracts.base import EARLIEST_INSTANT, LATEST_INSTANT
from shared.persistence.engine import create_engine
from shared.text import fold_diacritics
from shared.web.secrets import hash_secret
from tests.conftest import UTC7, FrozenClock

CAMPAIGN = "1trieu"
ADMIN, QUANG_NINH, BA_CHE = "admin-token", "quang-ninh-token", "ba-che-token"
TOKENS = {hash_secret(ADMIN): "*", hash_secret(QUANG_NINH): "qn", hash_secret(BA_CHE): "bc"}

# unit id, name, level, parent, cluster, state
UNITS = [
    ("vn", "Tổng Liên đoàn Lao động Việt Nam", "national", None, None, "open"),
    ("bk", "LĐLĐ tỉnh Bắc Kạn", "province", "vn", "Cụm 1", "open"),
    ("qn", "LĐLĐ tỉnh Quảng Ninh", "province", "vn", "Cụm 1", "open"),
    ("hy", "LĐLĐ tỉnh Hưng Yên", "province", "vn", "Cụm 2", "open"),
    ("old", "LĐLĐ tỉnh cũ", "province", "vn", "Cụm 2", "merged"),
    ("bc", "LĐLĐ huyện Ba Chẽ", "district", "qn", None, "open"),
    ("hl", "LĐLĐ thành phố Hạ Long", "district", "qn", None, "open"),
    ("bc-cq", "Công đoàn các cơ quan huyện Ba Chẽ", "district", "bc", None, "open"),
    ("bk-cdcs-1", "CĐCS Trường THPT Bắc Kạn", "grassroots", "bk", None, "open"),
]

# Every province follows the national phases, each with its own required counts.
PHASES = [
    ("I", "Giai đoạn I", dt.date(2022, 1, 1), dt.date(2022, 5, 31)),
    ("II", "Giai đoạn II", dt.date(2022, 6, 1), dt.date(2023, 10, 31)),
    ("", "", dt.date(2022, 1, 1), dt.date(2023, 10, 31)),
]
BAC_KAN_PHASES = [
    ("1", "Giai đoạn 1", dt.date(2022, 1, 1), dt.date(2022, 5, 31), 675),
    ("2", "Giai đoạn 2", dt.date(2022, 6, 1), dt.date(2022, 12, 31), 540),
    ("3", "Giai đoạn 3", dt.date(2023, 1, 1), dt.date(2023, 9, 30), 810),
    ("", "", dt.date(2022, 1, 1), dt.date(2023, 9, 30), 2025),
]
# Phase I (or 1) figures now: unit → (required, status counts)
PHASE_ONE: dict[str, tuple[int | None, dict[str, int]]] = {
    "bk": (675, {"registered": 30, "under_review": 300, "approved": 120, "rejected": 35}),
    "qn": (800, {"under_review": 500, "withdrawn": 9}),
    "hy": (1000, {"under_review": 672, "approved": 588}),
    "bc": (36, {"under_review": 20}),
    "hl": (None, {"under_review": 7}),
}


def closure(units: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    parents = {unit_id: parent for unit_id, _, _, parent, _, _ in units}
    rows = []
    for unit_id in parents:
        ancestor, depth = unit_id, 0
        while ancestor is not None:
            rows.append({"ancestor_id": ancestor, "descendant_id": unit_id, "depth": depth})
            ancestor, depth = parents[ancestor], depth + 1
    return rows


def unit_rows(
    units: Iterable[tuple[Any, ...]], merged_into: str | None = None
) -> list[dict[str, Any]]:
    """``rm_units`` rows of (unit id, name, level, parent, cluster, state); a merged one
    was merged into ``merged_into``."""
    return [
        {
            "unit_id": u,
            "name": name,
            "name_folded": fold_diacritics(name),
            "level": level,
            "parent_id": parent,
            "cluster": cluster,
            "state": state,
            "merged_into": merged_into if state == "merged" else None,
        }
        for u, name, level, parent, cluster, state in units
    ]


def counts(**given: int) -> dict[str, int]:
    return {status: given.get(status, 0) for status in STATUS_COLUMNS}


def target(
    unit_id: str,
    phase: tuple[str, str, dt.date, dt.date],
    required: int | None,
    metric: str = "submitted",
) -> dict[str, Any]:
    phase_id, name, starts_on, ends_on = phase
    return {
        "unit_id": unit_id,
        "campaign_id": CAMPAIGN,
        "phase_id": phase_id,
        "name": name,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "metric": metric if required is not None else None,
        "kind": "count" if required is not None else None,
        "value": str(required) if required is not None else None,
        "required": required,
        "members": None,
        "source_unit_id": unit_id if required is not None else None,
    }


def initiative(
    initiative_id: str, unit_id: str, title: str, history: list[tuple[dt.datetime, str]]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An initiative row and its status history; its bucket date is its first local day."""
    first_submission = next((at for at, status in history if status != "registered"), None)
    row = {
        "initiative_id": initiative_id,
        "campaign_id": CAMPAIGN,
        "unit_id": unit_id,
        "filed_unit_id": unit_id,
        "attributed_at": first_submission or history[0][0],
        "status": history[-1][1],
        "title": title,
        "title_folded": fold_diacritics(title),
        "category": "Phòng chống Covid-19",
        "solution_type": "technical",
        "author_types": ["worker"],
        "bucket_date": (first_submission or history[0][0]).astimezone(UTC7).date(),
        "registered_at": history[0][0] if history[0][1] == "registered" else None,
        "first_submitted_at": first_submission,
        "updated_at": history[-1][0],
    }
    versions = [
        {"initiative_id": initiative_id, "version": version, "at": at, "status": status}
        for version, (at, status) in enumerate(history, start=1)
    ]
    return row, versions


def at(day: int, hour: int, minute: int = 0, month: int = 5) -> dt.datetime:
    return dt.datetime(2022, month, day, hour, minute, tzinfo=UTC7)


INITIATIVES = [
    initiative(
        "sk-1",
        "bk-cdcs-1",
        "Sáng kiến khử khuẩn lớp học",
        [(at(10, 9), "under_review"), (at(12, 15), "approved")],
    ),
    initiative(
        "sk-2",
        "bk-cdcs-1",
        "Ứng dụng quét mã QR",
        [(at(1, 8), "registered"), (at(11, 10), "under_review")],
    ),
    initiative("sk-3", "bk-cdcs-1", "Sổ tay an toàn", [(at(13, 8), "under_review")]),
    initiative(
        "sk-4",
        "bc-cq",
        "Sáng kiến cải cách hành chính",
        [(at(2, 9), "under_review"), (at(3, 9), "rejected")],
    ),
    initiative("sk-5", "bc-cq", "Phần mềm chấm công", [(at(4, 9), "registered")]),
]


async def seed(engine: AsyncEngine) -> None:
    """Units, targets and figures of the campaign as the projector would have stored them."""
    provinces = [u for u in PHASE_ONE if u != "bk"]  # Bắc Kạn has a plan of its own
    targets = [
        target(u, p, PHASE_ONE[u][0] if p[0] == "I" else None) for u in provinces for p in PHASES
    ]
    targets += [target("bk", p[:4], p[4]) for p in BAC_KAN_PHASES]
    targets += [target("vn", p, 300_000 if p[0] == "I" else None) for p in PHASES]
    targets += [
        target("bk-cdcs-1", p, 2 if p[0] == "I" else None, metric="approved") for p in PHASES
    ]
    # Everything so far was submitted in the first phase, so the whole campaign counts the same.
    progress = [
        {"unit_id": u, "campaign_id": CAMPAIGN, "phase_id": phase_id, **counts(**c)}
        for u, (_, c) in PHASE_ONE.items()
        for phase_id in ("1" if u == "bk" else "I", "")
    ]
    # Stored figures for bk-cdcs-1 deliberately differ from its history: "as of" must not read them.
    progress.append(
        {"unit_id": "bk-cdcs-1", "campaign_id": CAMPAIGN, "phase_id": "I", **counts(approved=9)}
    )
    series = [
        {"unit_id": "bk", "campaign_id": CAMPAIGN, "day": day, "submitted": s, "approved": a}
        for day, s, a in [
            (dt.date(2022, 5, 1), 10, 0),
            (dt.date(2022, 5, 3), 5, 2),
            (dt.date(2022, 5, 4), -1, 1),
        ]
    ]
    breakdowns = [
        {
            "unit_id": "bk",
            "campaign_id": CAMPAIGN,
            "dimension": d,
            "value": v,
            "submitted": s,
            "approved": a,
        }
        for d, v, s, a in [
            ("category", "Phòng chống Covid-19", 300, 80),
            ("category", "Cải cách hành chính", 155, 40),
            ("author_type", "worker", 400, 100),
            ("solution_type", "technical", 455, 120),
        ]
    ]
    async with engine.begin() as connection:
        await connection.execute(sa.insert(rm_units), unit_rows(UNITS, merged_into="hy"))
        forever = {"valid_from": EARLIEST_INSTANT, "valid_to": LATEST_INSTANT}
        await connection.execute(sa.insert(rm_closure), closure(UNITS))
        await connection.execute(sa.insert(rm_lineage), [row | forever for row in closure(UNITS)])
        await connection.execute(sa.insert(rm_targets), targets)
        await connection.execute(
            sa.insert(rm_target_history), [t | forever | {"listed": True} for t in targets]
        )
        await connection.execute(sa.insert(rm_progress), progress)
        await connection.execute(sa.insert(rm_series_daily), series)
        await connection.execute(sa.insert(rm_breakdowns), breakdowns)
        await connection.execute(sa.insert(rm_initiatives), [row for row, _ in INITIATIVES])
        await connection.execute(
            sa.insert(rm_initiative_history), [v for _, versions in INITIATIVES for v in versions]
        )


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    await seed(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(engine: AsyncEngine, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    """The API at 13:30 on 12 May 2022 in Hà Nội, the moment of the Bắc Kạn report."""
    settings = QueryApiSettings(tokens=TOKENS, page_size=2)
    transport = httpx.ASGITransport(app=create_query_app(engine, settings, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://query") as client:
        yield client


async def get(
    client: httpx.AsyncClient, path: str, token: str = ADMIN, **params: Any
) -> httpx.Response:
    return await client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def by_phase(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {phase["phase_id"]: phase for phase in [*document["phases"], document["total"]]}


# -- progress ---------------------------------------------------------------------------------


async def test_bac_kan_on_12_may_has_reached_67_4_percent_of_phase_1_and_is_at_risk(
    client: httpx.AsyncClient,
) -> None:
    response = await get(client, "/v1/units/bk/progress")

    assert response.status_code == 200
    document = response.json()
    assert document["unit"]["name"] == "LĐLĐ tỉnh Bắc Kạn"
    assert document["campaign_id"] == CAMPAIGN
    phases = by_phase(document)
    assert [p["phase_id"] for p in document["phases"]] == ["1", "2", "3"]
    one = phases["1"]
    assert (one["target"], one["value"], one["submitted"], one["approved"]) == (675, 455, 455, 120)
    assert round(one["ratio"], 3) == 0.674
    assert one["status"] == "at_risk"
    assert one["counts"]["registered"] == 30
    assert one["rule"] == {"kind": "count", "value": "675", "members": None, "source_unit_id": "bk"}
    # Nothing was submitted yet for later phases: phase 2 has not started, and says so.
    assert (phases["2"]["value"], phases["2"]["ratio"], phases["2"]["status"]) == (
        0,
        0.0,
        "not_started",
    )
    assert phases[""]["target"] == 2025
    assert phases[""]["ends_on"] == "2023-09-30"


async def test_as_of_counts_each_initiative_in_its_status_at_that_instant(
    client: httpx.AsyncClient,
) -> None:
    """sk-1, approved at 15:00, is still under review at 13:30, so its approval does not count
    toward the unit's approved target; sk-3, first submitted the next day, does not count at
    all; the stored current figures (9 approved) are never used."""
    before = await get(client, "/v1/units/bk-cdcs-1/progress", as_of="2022-05-12T13:30:00+07:00")
    after = await get(client, "/v1/units/bk-cdcs-1/progress", as_of="2022-05-12T08:00:00Z")
    later = await get(client, "/v1/units/bk-cdcs-1/progress", as_of="2022-05-13T09:00:00+07:00")

    one = by_phase(before.json())["I"]
    assert (one["submitted"], one["approved"], one["value"]) == (2, 0, 0)
    assert by_phase(before.json())[""]["submitted"] == 2  # the whole campaign sums the phases
    assert one["counts"]["under_review"] == 2
    assert (one["target"], one["metric"], one["status"]) == (2, "approved", "at_risk")
    evaluated = dt.datetime.fromisoformat(before.json()["evaluated_at"])
    assert evaluated == dt.datetime(2022, 5, 12, 6, 30, tzinfo=dt.UTC)
    one = by_phase(after.json())["I"]  # 15:00 local
    assert (one["submitted"], one["approved"], one["value"]) == (2, 1, 1)
    one = by_phase(later.json())["I"]
    assert (one["submitted"], one["approved"], one["ratio"]) == (3, 1, 0.5)
    # The province sees the same initiatives, in its own phase 1.
    province = await get(client, "/v1/units/bk/progress", as_of="2022-05-12T13:30:00+07:00")
    assert by_phase(province.json())["1"]["submitted"] == 2


async def test_as_of_without_a_utc_offset_is_refused(client: httpx.AsyncClient) -> None:
    response = await get(client, "/v1/units/bk/progress", as_of="2022-05-12T13:30:00")
    assert response.status_code == 422


async def test_a_unit_without_a_plan_or_with_several_campaigns_says_so(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    assert (await get(client, "/v1/units/bc-cq/progress")).status_code == 404
    async with engine.begin() as connection:
        await connection.execute(
            sa.insert(rm_targets), [{**target("bk", PHASES[0], 10), "campaign_id": "khac"}]
        )
    ambiguous = await get(client, "/v1/units/bk/progress")
    assert ambiguous.status_code == 422
    assert "1trieu, khac" in ambiguous.json()["detail"]
    chosen = await get(client, "/v1/units/bk/progress", campaign_id=CAMPAIGN)
    assert by_phase(chosen.json())["1"]["value"] == 455


# -- children ---------------------------------------------------------------------------------


async def test_children_are_ranked_by_ratio_by_default_and_within_their_clusters(
    client: httpx.AsyncClient,
) -> None:
    response = await get(client, "/v1/units/vn/children")

    document = response.json()
    ranking = [
        (c["rank"], c["unit_id"], c["phase_id"], c["value"], c["status"])
        for c in document["ranking"]
    ]
    # Hưng Yên 1260/1000, Bắc Kạn 455/675 (its own phase 1), Quảng Ninh 500/800; the merged
    # unit is history and takes no place.
    assert ranking == [
        (1, "hy", "I", 1260, "achieved"),
        (2, "bk", "1", 455, "at_risk"),
        (3, "qn", "I", 500, "at_risk"),
    ]
    assert [(c["cluster"], [r["unit_id"] for r in c["ranking"]]) for c in document["clusters"]] == [
        ("Cụm 1", ["bk", "qn"]),
        ("Cụm 2", ["hy"]),
    ]
    assert document["clusters"][0]["ranking"][1]["rank"] == 2


async def test_children_can_be_ranked_by_value_or_name_and_for_another_phase(
    client: httpx.AsyncClient,
) -> None:
    by_value = await get(client, "/v1/units/vn/children", sort="value")
    by_name = await get(client, "/v1/units/vn/children", sort="name")
    whole = await get(client, "/v1/units/qn/children", phase_id="")

    assert [c["unit_id"] for c in by_value.json()["ranking"]] == ["hy", "qn", "bk"]
    assert [c["name"] for c in by_name.json()["ranking"]] == [
        "LĐLĐ tỉnh Bắc Kạn",
        "LĐLĐ tỉnh Hưng Yên",
        "LĐLĐ tỉnh Quảng Ninh",
    ]
    # Without a campaign-wide target nobody has a ratio; the larger value ranks first.
    assert [(c["unit_id"], c["phase_id"], c["status"]) for c in whole.json()["ranking"]] == [
        ("bc", "", "no_target"),
        ("hl", "", "no_target"),
    ]


async def test_a_child_without_the_phase_asked_for_is_ranked_on_its_whole_campaign(
    client: httpx.AsyncClient,
) -> None:
    """Bắc Kạn plans phases 1–3 of its own, so it has no national phase I: asked for phase I,
    it shows its whole campaign (455 of 2,025) rather than an empty 0."""
    response = await get(client, "/v1/units/vn/children", phase_id="I")

    assert [
        (c["unit_id"], c["phase_id"], c["value"], c["target"], c["status"])
        for c in response.json()["ranking"]
    ] == [
        ("hy", "I", 1260, 1000, "achieved"),
        ("qn", "I", 500, 800, "at_risk"),
        ("bk", "", 455, 2025, "on_track"),
    ]


# -- scope -----------------------------------------------------------------------------------


async def test_a_district_token_never_reads_another_districts_figures(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    own = await get(client, "/v1/units/bc-cq/initiatives", token=BA_CHE)
    with caplog.at_level(logging.WARNING, logger="shared.web.auth"):
        neighbour = await get(client, "/v1/units/hl/progress", token=BA_CHE)
        parent = await get(client, "/v1/units/qn/children", token=BA_CHE)
        unknown = await get(client, "/v1/units/nowhere/progress", token=BA_CHE)

    assert own.status_code == 200
    assert (neighbour.status_code, parent.status_code, unknown.status_code) == (403, 403, 403)
    assert neighbour.json() == {"detail": "unit 'hl' is outside this token's scope"}
    refusals = [(r.token_scope, r.requested_unit) for r in caplog.records]
    assert refusals == [("bc", "hl"), ("bc", "qn"), ("bc", "nowhere")]
    assert all(BA_CHE not in r.getMessage() and BA_CHE not in str(vars(r)) for r in caplog.records)


async def test_a_province_token_reads_its_whole_subtree_and_the_admin_reads_everything(
    client: httpx.AsyncClient,
) -> None:
    district = await get(client, "/v1/units/bc/progress", token=QUANG_NINH)
    elsewhere = await get(client, "/v1/units/bk/progress", token=QUANG_NINH)
    missing = await get(client, "/v1/units/nowhere/progress", token=ADMIN)

    assert by_phase(district.json())["I"]["value"] == 20
    assert elsewhere.status_code == 403
    assert missing.status_code == 404


async def test_an_answer_shared_between_requests_never_crosses_a_token_scope(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    settings = QueryApiSettings(tokens=TOKENS, shared_answer_seconds=60)
    transport = httpx.ASGITransport(app=create_query_app(engine, settings, clock=clock))
    async with httpx.AsyncClient(transport=transport, base_url="http://query") as client:
        by_admin = await get(client, "/v1/units/hl/progress", token=ADMIN)
        by_neighbour = await get(client, "/v1/units/hl/progress", token=BA_CHE)
        by_province = await get(client, "/v1/units/hl/progress", token=QUANG_NINH)
        async with engine.begin() as connection:
            await connection.execute(sa.update(rm_units).values(name="renamed"))
        shared = await get(client, "/v1/units/hl/progress", token=ADMIN)
        fresh = await get(client, "/v1/units/hl/children", token=ADMIN)

    assert (by_admin.status_code, by_neighbour.status_code, by_province.status_code) == (
        200,
        403,
        200,
    )
    assert shared.json() == by_admin.json()
    assert fresh.json()["unit"]["name"] == "renamed"


async def test_a_missing_or_unknown_token_is_unauthorised(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/v1/units/bk/progress")
    unknown = await get(client, "/v1/units/bk/progress", token="guessed")

    assert (anonymous.status_code, unknown.status_code) == (401, 401)
    assert unknown.headers["www-authenticate"].startswith("Bearer")


def test_a_token_configured_unhashed_is_refused_without_echoing_it(engine: AsyncEngine) -> None:
    settings = QueryApiSettings(tokens={"plain-secret-token": "bk"})
    with pytest.raises(ValueError, match="scope 'bk'") as refused:
        create_query_app(engine, settings, clock=FrozenClock())
    assert "plain-secret-token" not in str(refused.value)


# -- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["ba che", "Ba Chẽ", "BA CHẼ", "huyện ba che"])
async def test_units_are_found_with_or_without_diacritics(
    client: httpx.AsyncClient, query: str
) -> None:
    response = await get(client, "/v1/units", q=query)

    found = [(u["unit_id"], u["parent_name"]) for u in response.json()["items"]]
    # Alphabetical without diacritics: "Công đoàn…" before "LĐLĐ…".
    assert found == [("bc-cq", "LĐLĐ huyện Ba Chẽ"), ("bc", "LĐLĐ tỉnh Quảng Ninh")]


async def test_a_merged_unit_names_the_unit_it_was_merged_into(client: httpx.AsyncClient) -> None:
    found = (await get(client, "/v1/units", q="tinh")).json()["items"]
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]["Unit"]

    named = {u["unit_id"]: (u["state"], u["merged_into"], u["merged_into_name"]) for u in found}
    assert named["old"] == ("merged", "hy", "LĐLĐ tỉnh Hưng Yên")
    assert named["bk"] == ("open", None, None)
    assert "merged into" in schema["properties"]["merged_into"]["description"]


async def test_unit_search_stays_inside_the_tokens_scope(client: httpx.AsyncClient) -> None:
    inside = await get(client, "/v1/units", token=BA_CHE, q="ldld")
    everything = await get(client, "/v1/units", q="ldld", limit=3)

    assert [u["unit_id"] for u in inside.json()["items"]] == ["bc"]
    assert len(everything.json()["items"]) == 3


async def test_initiatives_are_searched_by_title_with_or_without_diacritics_newest_first(
    client: httpx.AsyncClient,
) -> None:
    plain = await get(client, "/v1/units/bk/initiatives", q="sang kien")
    accented = await get(client, "/v1/units/vn/initiatives", q="Sáng kiến")
    first = await get(client, "/v1/units/vn/initiatives")
    second = await get(client, "/v1/units/vn/initiatives", page=2)
    rejected = await get(client, "/v1/units/vn/initiatives", status="rejected")

    assert [i["initiative_id"] for i in plain.json()["items"]] == ["sk-1"]
    assert [i["initiative_id"] for i in accented.json()["items"]] == ["sk-1", "sk-4"]
    assert (first.json()["total"], first.json()["page_size"]) == (5, 2)
    # sk-3 was submitted last; sk-5 (registered 4 May) sorts by its registration.
    assert [i["initiative_id"] for i in first.json()["items"]] == ["sk-3", "sk-2"]
    assert [i["initiative_id"] for i in second.json()["items"]] == ["sk-1", "sk-5"]
    assert [(i["initiative_id"], i["unit_name"]) for i in rejected.json()["items"]] == [
        ("sk-4", "Công đoàn các cơ quan huyện Ba Chẽ")
    ]


# -- series and breakdowns -------------------------------------------------------------------


async def test_the_series_counts_its_running_total_from_the_first_day(
    client: httpx.AsyncClient,
) -> None:
    window = await get(
        client, "/v1/units/bk/timeseries", **{"from": "2022-05-03", "to": "2022-05-05"}
    )
    approved = await get(client, "/v1/units/bk/timeseries", metric="approved")
    backwards = await get(
        client, "/v1/units/bk/timeseries", **{"from": "2022-05-05", "to": "2022-05-01"}
    )

    assert [(p["day"], p["value"], p["cumulative"]) for p in window.json()["points"]] == [
        ("2022-05-03", 5, 15),
        ("2022-05-04", -1, 14),
        ("2022-05-05", 0, 14),
    ]
    assert [p["cumulative"] for p in approved.json()["points"]] == [0, 0, 2, 3]
    assert backwards.status_code == 422


async def test_breakdowns_group_the_totals_by_dimension(client: httpx.AsyncClient) -> None:
    document = (await get(client, "/v1/units/bk/breakdowns")).json()

    assert [(b["value"], b["submitted"], b["approved"]) for b in document["category"]] == [
        ("Phòng chống Covid-19", 300, 80),
        ("Cải cách hành chính", 155, 40),
    ]
    assert [b["value"] for b in document["author_type"]] == ["worker"]
    assert document["solution_type"][0]["submitted"] == 455


# -- reports ---------------------------------------------------------------------------------


async def test_the_csv_report_lists_the_phases_then_the_children_in_the_current_phase(
    client: httpx.AsyncClient,
) -> None:
    response = await get(client, "/v1/units/qn/report.csv")

    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="report-qn.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[:4] == [
        ["Đơn vị", "LĐLĐ tỉnh Quảng Ninh"],
        ["Phong trào", CAMPAIGN],  # no campaign.defined in these rows: the id stands in
        ["Số liệu tại thời điểm", "2022-05-12T13:30:00+07:00", "Asia/Ho_Chi_Minh"],
        ["Thời điểm lập", "2022-05-12T13:30:00+07:00", "Asia/Ho_Chi_Minh"],
    ]
    assert rows[6:9] == [
        ["Giai đoạn I", "2022-01-01", "2022-05-31", "800", "500", "62.5", "Chậm tiến độ"],
        ["Giai đoạn II", "2022-06-01", "2023-10-31", "", "0", "", "Chưa có chỉ tiêu"],
        ["Cả phong trào", "2022-01-01", "2023-10-31", "", "500", "", "Chưa có chỉ tiêu"],
    ]
    assert rows[10:] == [
        ["Đơn vị trực thuộc, Giai đoạn I"],
        ["Đơn vị", "Chỉ tiêu", "Kết quả", "% chỉ tiêu", "Tình trạng"],
        ["LĐLĐ huyện Ba Chẽ", "36", "20", "55.6", "Chậm tiến độ"],
        ["LĐLĐ thành phố Hạ Long", "", "7", "", "Chưa có chỉ tiêu"],
    ]


async def test_the_xlsx_report_keeps_dates_and_percentages_as_numbers(
    client: httpx.AsyncClient,
) -> None:
    response = await get(client, "/v1/units/bk/report.xlsx")

    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.content)) as workbook:
        sheet = workbook.read("xl/worksheets/sheet1.xml").decode()
        strings = workbook.read("xl/sharedStrings.xml").decode()
    assert "LĐLĐ tỉnh Bắc Kạn" in strings
    assert "Chậm tiến độ" in strings
    assert "<v>0.674074074074074" in sheet  # 455 / 675, shown as 67.4 %
    assert "<v>44562</v>" in sheet  # 1 January 2022 as an Excel date


# -- SQL views -------------------------------------------------------------------------------


async def test_the_bi_views_give_value_ratio_and_running_totals(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        progress = await connection.execute(
            sa.text(
                "SELECT value, target, ratio, approved FROM v_progress "
                "WHERE unit_id = 'bk' AND phase_id = '1'"
            )
        )
        series = await connection.execute(
            sa.text("SELECT submitted_cumulative FROM v_series WHERE unit_id = 'bk' ORDER BY day")
        )
        (value, required, ratio, approved), cumulative = progress.one(), series.scalars().all()

    assert (value, required, round(ratio, 3), approved) == (455, 675, 0.674, 120)
    assert cumulative == [10, 15, 14]
