"""The 2025 reorganisation on the seed cases, one scenario for every transport.

History (2022): the seed cases (Ba Chẽ's Khối cơ quan, Bắc Kạn), plus Chợ Đồn, a district of
Bắc Kạn that one grassroots union moves into on 1 April 2022, in the middle of phase 1.
Recorded in 2026 with its own date, 1 July 2025: Bắc Kạn is merged into a new Thái Nguyên
(which plans the campaign in two phases of its own), the Khối cơ quan's grassroots unions
move under Quảng Ninh, and the Khối cơ quan and Ba Chẽ are dissolved. One initiative is
then filed under a moved union.

``load`` writes the history for the demo's ``--data``; ``reorganise`` sends the rest through
the ingest door; ``expected_answers`` are what the query API must say afterwards, whichever
transport carried the events.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from services.demo.main import DemoOptions, running_demo
from services.projector.verify import verify
from services.samples import seed_cases
from services.samples.portal_events import (
    envelope,
    plan_set,
    submitted,
    unit_moved,
    unit_registered,
)
from tests.conftest import FrozenClock
from tests.demo_settings import ADMIN, KEYS, demo_settings
from tests.kafka_tools import wait_until

CAMPAIGN = "1-trieu-sang-kien"
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
REFORM = "2025-07-01T00:00:00+07:00"
MID_PHASE = "2022-04-01T00:00:00+07:00"


def dated(event: dict[str, Any], at: str) -> dict[str, Any]:
    return event | {"occurred_at": at}


def history() -> list[dict[str, Any]]:
    """The campaign as the portals sent it in 2022, with the move in the middle of phase 1."""
    return [
        *seed_cases.hierarchy(),
        unit_registered("bk-cho-don", "bac-kan", "district", "LĐLĐ huyện Chợ Đồn"),
        *seed_cases.plans(),
        *seed_cases.ba_che_submissions(),
        *seed_cases.bac_kan_submissions(),
        dated(unit_moved("bk-cdcs-5", "bk-cho-don"), MID_PHASE),
    ]


def load(path: Path) -> Path:
    path.write_text("".join(json.dumps(event) + "\n" for event in history()), encoding="utf-8")
    return path


def reform() -> list[dict[str, Any]]:
    """The 2025 reorganisation, recorded years later with its own date."""
    moves = [dated(unit_moved(f"bache-cq-{n}", "quang-ninh"), REFORM) for n in range(1, 4)]
    return [
        unit_registered("thai-nguyen", "vgcl", "province", "LĐLĐ tỉnh Thái Nguyên"),
        dated(
            plan_set(
                "thai-nguyen",
                [("tn-1", "2022-01-01", "2022-12-31"), ("tn-2", "2023-01-01", "2023-09-30")],
                [{"phase_id": "tn-1", "kind": "count", "value": 600}],
            ),
            REFORM,
        ),
        envelope("unit.merged", {"unit_id": "bac-kan", "into_unit_id": "thai-nguyen"}, at=REFORM),
        *moves,
        envelope("unit.closed", {"unit_id": "bache-khoi-cq", "reason": "giải thể"}, at=REFORM),
        envelope("unit.closed", {"unit_id": "bache", "reason": "bỏ cấp huyện"}, at=REFORM),
        submitted("after-reform", "bache-cq-1", at="2025-07-02T09:00:00+07:00"),
    ]


async def send(api: httpx.AsyncClient, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = await api.post(
        "/ingest/v1/events", json=events, headers={"X-API-Key": KEYS.portal_key}
    )
    response.raise_for_status()
    verdicts: list[dict[str, Any]] = response.json()["results"]
    return verdicts


async def reorganise(api: httpx.AsyncClient) -> dict[str, str | None]:
    """Send the reform; then a submission under the dissolved union dated after its end
    (refused) and one dated 2023, backfilled (accepted): facts are judged at their date."""
    refused = [v for v in await send(api, reform()) if v["status"] != "accepted"]
    assert not refused, refused
    late = [
        submitted("after-dissolution", "bache-khoi-cq", at="2025-07-02T09:00:00+07:00"),
        submitted("backfilled-2023", "bache-khoi-cq", at="2023-03-01T09:00:00+07:00"),
    ]
    return {v["event_id"]: v.get("code") or v["status"] for v in await send(api, late)}


async def projected(api: httpx.AsyncClient) -> bool:
    """Whether the projector has applied the whole history (its last fact is the move)."""
    found = await api.get(
        "/v1/units/bk-cho-don/initiatives", params={"q": "bk-late-19"}, headers=ADMIN
    )
    return found.status_code == 200 and found.json()["total"] == 1


async def reorganised(api: httpx.AsyncClient) -> bool:
    """Whether the projector has applied the whole reorganisation and the late submission."""
    for unit_id, title in (("quang-ninh", "after-reform"), ("bache-khoi-cq", "backfilled")):
        found = await api.get(
            f"/v1/units/{unit_id}/initiatives", params={"q": title}, headers=ADMIN
        )
        if found.status_code != 200 or found.json()["total"] != 1:
            return False
    return True


async def progress(api: httpx.AsyncClient, unit_id: str, **params: str) -> dict[str, Any]:
    response = await api.get(
        f"/v1/units/{unit_id}/progress", params={"campaign_id": CAMPAIGN, **params}, headers=ADMIN
    )
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def values(document: dict[str, Any]) -> dict[str, tuple[int, int | None]]:
    """phase_id → (value, target), the whole campaign as ''."""
    phases = [*document["phases"], *([document["total"]] if document["total"] else [])]
    return {p["phase_id"]: (p["value"], p["target"]) for p in phases}


async def answers(api: httpx.AsyncClient) -> dict[str, Any]:
    """What an official reads after the reorganisation, as plain values."""
    found: dict[str, Any] = {}
    for unit_id in ("bac-kan", "bache-khoi-cq", "bk-bach-thong", "bk-cho-don", "bache-cq-1"):
        found[unit_id] = values(await progress(api, unit_id))
    found["bac-kan as of 12 May 2022 13:30"] = values(
        await progress(api, "bac-kan", as_of="2022-05-12T13:30:00+07:00")
    )
    found["bache-khoi-cq as of 1 June 2022"] = values(
        await progress(api, "bache-khoi-cq", as_of="2022-06-01T00:00:00+07:00")
    )
    found["thai-nguyen"] = values(await progress(api, "thai-nguyen"))
    restated = await progress(api, "thai-nguyen", include="predecessors")
    found["thai-nguyen restated"] = values(restated)
    found["thai-nguyen predecessors"] = restated["predecessors"]
    for include in ({}, {"include": "predecessors"}):
        ranking = await api.get(
            "/v1/units/vgcl/children", params={"campaign_id": CAMPAIGN, **include}, headers=ADMIN
        )
        found[f"vgcl children {include}"] = {
            entry["unit_id"]: entry["value"] for entry in ranking.json()["ranking"]
        }
    report = await api.get(
        "/v1/units/thai-nguyen/report.csv",
        params={"campaign_id": CAMPAIGN, "include": "predecessors"},
        headers=ADMIN,
    )
    found["restated report mentions 475"] = "475" in report.text
    for unit_id in ("quang-ninh", "bache-khoi-cq", "bache-cq-1"):
        listed = await api.get(
            f"/v1/units/{unit_id}/initiatives", params={"q": "after-reform"}, headers=ADMIN
        )
        found[f"after-reform counts for {unit_id}"] = listed.json()["total"]
    for unit_id in ("bac-kan", "bache-khoi-cq"):
        unit = (await progress(api, unit_id))["unit"]
        found[f"{unit_id} state"] = (unit["state"], unit.get("merged_into"))
    return found


EXPECTED = {
    # Bắc Kạn keeps its figures for good: 455 by 12 May 13:30, 20 more later in May.
    "bac-kan": {"bk-1": (475, 675), "bk-2": (0, 540), "bk-3": (0, 810), "": (475, 2025)},
    "bac-kan as of 12 May 2022 13:30": {
        "bk-1": (455, 675),
        "bk-2": (0, 540),
        "bk-3": (0, 810),
        "": (455, 2025),
    },
    # The dissolved Khối cơ quan keeps its 20 of 36; 3 were submitted in June and one,
    # dated March 2023, was backfilled after the reform (it was open then).
    "bache-khoi-cq": {"bc-1": (20, 36), "bc-2": (4, 82), "": (24, 118)},
    # The first June one came at 00:00 on 1 June local time: phase II, and counted by then.
    "bache-khoi-cq as of 1 June 2022": {"bc-1": (20, 36), "bc-2": (1, 82), "": (21, 118)},
    # bk-cdcs-5 moved to Chợ Đồn on 1 April: what it submitted before stays with Bạch Thông
    # (60 of its 95); the 31 it submitted from April and its 4 of the late 20 count there.
    "bk-bach-thong": {"bk-1": (440, None), "bk-2": (0, None), "bk-3": (0, None), "": (440, None)},
    "bk-cho-don": {"bk-1": (35, None), "bk-2": (0, None), "bk-3": (0, None), "": (35, None)},
    # A moved union keeps the phases its 2022 initiatives counted in; the one filed after
    # the reform counts for Quảng Ninh, outside any phase of Ba Chẽ's scheme.
    "bache-cq-1": {"bc-1": (8, None), "bc-2": (0, None), "": (8, None)},
    # Thái Nguyên's own figures; restated, Bắc Kạn's 2022 initiatives in its own phases.
    "thai-nguyen": {"tn-1": (0, 600), "tn-2": (0, None), "": (0, None)},
    "thai-nguyen restated": {"tn-1": (475, 600), "tn-2": (0, None), "": (475, None)},
    "thai-nguyen predecessors": ["bac-kan"],
    # Rankings of the open children: each its own figures (Quảng Ninh: Ba Chẽ's 23, the
    # backfilled one and the one after the reform); restated, Thái Nguyên carries Bắc Kạn's.
    "vgcl children {}": {"quang-ninh": 25, "thai-nguyen": 0},
    "vgcl children {'include': 'predecessors'}": {"quang-ninh": 25, "thai-nguyen": 475},
    "restated report mentions 475": True,
    # Filed under a moved union after the reform: it counts there and for Quảng Ninh, not
    # for the dissolved Khối cơ quan it stood under in 2022.
    "after-reform counts for quang-ninh": 1,
    "after-reform counts for bache-khoi-cq": 0,
    "after-reform counts for bache-cq-1": 1,
    "late submissions": ["accepted", "unit_not_open"],
    "bac-kan state": ("merged", "thai-nguyen"),
    "bache-khoi-cq state": ("closed", None),
}


async def run(tmp_path: Path, url: str, **kafka: str) -> dict[str, Any]:
    """Load the history, reorganise, wait until projected; the answers, and whether a
    rebuild agrees with the live tables."""
    options = DemoOptions(simulate=False, data=load(tmp_path / "history.ndjson"))
    settings = demo_settings(url, **kafka)
    async with running_demo(options, settings, Console(quiet=True), FrozenClock(NOW)) as demo:
        transport = httpx.ASGITransport(app=demo.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as api:
            await wait_until(partial(projected, api), within=120, what="history projected")
            verdicts = await reorganise(api)
            await wait_until(partial(reorganised, api), within=120, what="reorganisation")
            found = await answers(api)
    found["late submissions"] = sorted(verdicts.values())
    found["rebuild agrees"] = (await verify(url)).agrees
    return found
