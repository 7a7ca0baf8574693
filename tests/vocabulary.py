"""The campaign's own vocabulary, one scenario for every transport.

In Bắc Kạn's phase 1: submissions in v2 (category codes, civil servants and public
employees) and in v1 (free-text categories, upcast), a registration, an approval, a
withdrawal, an update that moves an initiative to other breakdown buckets, and a v1
submission stored before the upgrade (appended to the event store as it was then, not sent
through ingest). Then updates ingest must refuse. ``EXPECTED`` is what the query API says,
whichever transport carried the events; a rebuild must agree with live projection.
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
from services.samples.portal_events import CAMPAIGN, envelope, reviewed, submitted, updated
from shared.contracts.recorded import EventMetadata, NewEvent
from shared.eventstore.sql import SqlEventStore
from tests.conftest import FrozenClock
from tests.demo_settings import ADMIN, KEYS, demo_settings
from tests.kafka_tools import wait_until

NOW = dt.datetime(2022, 6, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def day(n: int) -> str:
    return f"2022-02-{n:02d}T09:00:00+07:00"


def author(name: str, kind: str, member_id: str | None = None) -> dict[str, Any]:
    return {"name": name, "member_id": member_id, "author_type": kind}


CIVIL_SERVANT = author("Nguyễn Cường", "civil_servant", "cc-1")
BINH = author("Lê Văn Bình", "public_employee")
THU = author("Phạm Thu", "worker", "dv-5")


def v1_submitted(initiative_id: str, unit_id: str, at: str, category: str) -> dict[str, Any]:
    """A submission as a portal still on v1 sends it: free-text category."""
    event = submitted(initiative_id, unit_id, at, category=category, authors=[THU])
    return event | {"schema_version": 1}


def history() -> list[dict[str, Any]]:
    return [
        *seed_cases.hierarchy(),
        *seed_cases.plans(),
        submitted("voc-1", "bk-cdcs-1", day(1), authors=[CIVIL_SERVANT]),
        submitted("voc-2", "bk-cdcs-2", day(2), category="covid19", authors=[CIVIL_SERVANT, BINH]),
        submitted(
            "voc-3",
            "bk-cdcs-3",
            day(3),
            category="production",
            authors=[author("lê văn bình", "worker")],
        ),
        envelope(
            "initiative.registered",
            {
                "initiative_id": "voc-reg",
                "campaign_id": CAMPAIGN,
                "unit_id": "bk-cdcs-4",
                "title": "Đăng ký",
            },
            at=day(4),
        ),
        updated(
            "voc-1",
            day(5),
            title="Sổ tay công đoàn điện tử",
            category="union_work",
            authors=[author("Trần Thị Mai", "public_employee", "vc-9")],
        ),
        v1_submitted("voc-v1a", "bk-cdcs-5", day(5), "Phòng, chống Covid-19"),
        v1_submitted("voc-v1b", "bk-cdcs-5", day(6), "Bảo vệ môi trường"),
        submitted(
            "voc-wd",
            "bk-cdcs-1",
            day(7),
            category="digital",
            authors=[author("Đỗ An", "member", "dv-7")],
        ),
        reviewed("initiative.withdrawn", "voc-wd", at=day(8)),
        reviewed("initiative.approved", "voc-3", at=day(10)),
    ]


STORED_V1 = {
    "initiative_id": "voc-stored",
    "campaign_id": CAMPAIGN,
    "unit_id": "bk-cdcs-2",
    "title": "Sáng kiến lưu từ phiên bản 1",
    "category": "năng suất",
    "authors": [author("Nguyễn Cường", "manager", "cc-1")],
}
"""An ``initiative.submitted`` v1 payload as the store held it before v2 existed."""


async def store_v1(demo_engine: Any, kafka: bool) -> None:
    store = SqlEventStore(demo_engine, outbox=kafka)
    event = NewEvent(
        stream_id="initiative-voc-stored",
        event_id="voc-stored-sub",
        type="initiative.submitted",
        schema_version=1,
        occurred_at=dt.datetime.fromisoformat(day(9)),
        data=STORED_V1,
        metadata=EventMetadata(source="national-portal"),
    )
    await store.append([event], {event.stream_id: 0})


def refused() -> list[dict[str, Any]]:
    """Updates that make no sense, and a v1 event naming what only v2 has."""
    return [
        updated("voc-3", day(11), category="digital", event_id="u-approved"),
        updated("voc-reg", day(11), title="Sửa", event_id="u-registered"),
        updated("voc-wd", day(11), title="Sửa", event_id="u-withdrawn"),
        updated("voc-2", day(11), event_id="u-nothing"),
        submitted("voc-v1c", "bk-cdcs-1", day(11), authors=[CIVIL_SERVANT], event_id="v1-civil")
        | {"schema_version": 1},
    ]


async def projected(api: httpx.AsyncClient) -> bool:
    found = await api.get(
        "/v1/units/bac-kan/initiatives", params={"campaign_id": CAMPAIGN}, headers=ADMIN
    )
    return found.status_code == 200 and found.json()["total"] == 8


async def answers(api: httpx.AsyncClient) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for label, params in (
        ("now", {}),
        ("as of 4 Feb noon", {"as_of": "2022-02-04T12:00:00+07:00"}),
    ):
        response = await api.get(
            "/v1/units/bac-kan/progress", params={"campaign_id": CAMPAIGN, **params}, headers=ADMIN
        )
        phase = response.json()["phases"][0]
        found[f"phase 1 {label}"] = (phase["value"], phase["participation"])
    response = await api.get(
        "/v1/units/bac-kan/breakdowns", params={"campaign_id": CAMPAIGN}, headers=ADMIN
    )
    breakdowns = response.json()
    for dimension in ("category", "author_type"):
        found[dimension] = {
            b["value"]: b["submitted"] for b in breakdowns[dimension] if b["submitted"]
        }
    found["participation"] = breakdowns["participation"]
    listed = await api.get("/v1/units/bk-cdcs-1/initiatives", params={"q": "so tay"}, headers=ADMIN)
    found["updated title"] = [
        (i["title"], i["category"], i["status"]) for i in listed.json()["items"]
    ]
    return found


EXPECTED = {
    # 6 submitted (the withdrawn one no longer counts); 8 took part: with the registration
    # and the withdrawn one; 5 people: vc-9, cc-1 (in voc-2 and the stored v1 one, though
    # voc-1's update dropped it), Lê Văn Bình (twice, spelt two ways), dv-5 (twice), dv-7.
    "phase 1 now": (6, {"initiatives": 8, "authors": 5}),
    # By then voc-1 … voc-reg; authors as they are now (vc-9, cc-1, Lê Văn Bình).
    "phase 1 as of 4 Feb noon": (3, {"initiatives": 4, "authors": 3}),
    # voc-1 moved from productivity to union_work; the stored v1 "năng suất" is productivity.
    "category": {"covid19": 2, "union_work": 1, "production": 1, "other": 1, "productivity": 1},
    "author_type": {"public_employee": 2, "civil_servant": 1, "worker": 3, "manager": 1},
    "participation": {"initiatives": 8, "authors": 5},
    "updated title": [("Sổ tay công đoàn điện tử", "union_work", "under_review")],
    "refusals": {
        "u-approved": "not_editable",
        "u-registered": "not_editable",
        "u-withdrawn": "not_editable",
        "u-nothing": "invalid_data",
        "v1-civil": "invalid_data",
    },
}


async def run(tmp_path: Path, url: str, **kafka: str) -> dict[str, Any]:
    """Load the history, store the v1 event, send the refused ones, wait until projected;
    the answers, and whether a rebuild agrees with the live tables."""
    path = tmp_path / "vocabulary.ndjson"
    path.write_text("".join(json.dumps(e) + "\n" for e in history()), encoding="utf-8")
    options = DemoOptions(simulate=False, data=path)
    settings = demo_settings(url, **kafka)
    async with running_demo(options, settings, Console(quiet=True), FrozenClock(NOW)) as demo:
        await store_v1(demo.engine, kafka=bool(kafka))
        transport = httpx.ASGITransport(app=demo.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as api:
            response = await api.post(
                "/ingest/v1/events", json=refused(), headers={"X-API-Key": KEYS.portal_key}
            )
            verdicts = {v["event_id"]: v["code"] for v in response.json()["results"]}
            await wait_until(partial(projected, api), within=120, what="vocabulary projected")
            found = await answers(api)
    found["refusals"] = verdicts
    found["rebuild agrees"] = (await verify(url)).agrees
    return found
