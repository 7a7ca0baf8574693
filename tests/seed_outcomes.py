"""Every target judged at its deadline, on the seed cases with every phase long over: one
scenario for every transport.

Ba Chẽ's Khối cơ quan ends phase I at 36 of 36 (achieved) and phase II at 41 of 82; Bắc Kạn
ends phase 1 at 555 of 675 and has nothing after it (0 of 540, 0 of 810). Bạch Thông (a
district of Bắc Kạn) cascades a target of 50 in its own phase to each of its grassroots
unions: five reach it, a sixth never files anything. Loaded with ``initiatives demo --data``
in 2026, the notifier must decide exactly one outcome per target, ``missed`` for each that
ended below it (the zero-activity ones included), ``achieved`` for the others, and decide
nothing more after a restart.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from services.demo.main import DemoOptions, running_demo
from services.samples import seed_cases
from services.samples.portal_events import plan_set, submitted, unit_registered
from tests.conftest import FrozenClock
from tests.demo_settings import ADMIN, demo_settings
from tests.kafka_tools import wait_until

NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def history() -> list[dict[str, Any]]:
    ba_che_phase_two = [
        submitted(f"bc2-{n}", f"bache-cq-{n % 3 + 1}", at=f"2023-0{n % 9 + 1}-15T09:00:00+07:00")
        for n in range(41)
    ]
    return [
        *seed_cases.hierarchy(),
        unit_registered("bk-cdcs-6", "bk-bach-thong", name="CĐCS số 6 Bạch Thông"),
        *seed_cases.plans(),
        plan_set(
            "bk-bach-thong",
            [("bt-1", "2022-01-01", "2022-05-31")],
            [{"phase_id": "bt-1", "kind": "count", "value": 50, "applies_to": "children"}],
        ),
        *[
            submitted(
                f"bc1-{n}", f"bache-cq-{n % 3 + 1}", at=f"2022-05-{n % 28 + 1:02d}T09:00:00+07:00"
            )
            for n in range(36)
        ],
        *ba_che_phase_two,
        *seed_cases.bac_kan_submissions(before=455, after=100),
    ]


def load(path: Path) -> Path:
    path.write_text("".join(json.dumps(event) + "\n" for event in history()), encoding="utf-8")
    return path


OUTCOMES = {
    ("bache-khoi-cq", "bc-1"): "achieved",
    ("bache-khoi-cq", "bc-2"): "missed",
    ("bache-khoi-cq", ""): "missed",
    ("bac-kan", "bk-1"): "missed",
    ("bac-kan", "bk-2"): "missed",
    ("bac-kan", "bk-3"): "missed",
    ("bac-kan", ""): "missed",
    **{(f"bk-cdcs-{n}", "bt-1"): "achieved" for n in range(1, 6)},
    ("bk-cdcs-6", "bt-1"): "missed",
}
"""(unit, phase) → its one outcome; '' is the whole campaign."""
SHORTFALLS = {
    ("bache-khoi-cq", "bc-2"): 41,
    ("bache-khoi-cq", ""): 41,
    ("bac-kan", "bk-1"): 120,
    ("bac-kan", "bk-2"): 540,
    ("bac-kan", "bk-3"): 810,
    ("bac-kan", ""): 1470,
    ("bk-cdcs-6", "bt-1"): 50,
}


async def outcomes(api: httpx.AsyncClient) -> Counter[tuple[str, str, str]]:
    """(unit, phase, rule) of every outcome decision, counted."""
    found: Counter[tuple[str, str, str]] = Counter()
    for rule in ("missed", "achieved"):
        listed = await api.get("/v1/notifications", params={"rule": rule}, headers=ADMIN)
        assert listed.status_code == 200, listed.text
        for item in listed.json()["items"]:
            found[(item["unit_id"], item["phase_id"], item["rule"])] += 1
    return found


async def shortfalls(api: httpx.AsyncClient) -> dict[tuple[str, str], int]:
    listed = await api.get("/v1/notifications", params={"rule": "missed"}, headers=ADMIN)
    return {
        (item["unit_id"], item["phase_id"]): item["target"] - item["value"]
        for item in listed.json()["items"]
    }


async def judged(api: httpx.AsyncClient) -> bool:
    """Whether this run's clock has checked once and the outcomes are all decided."""
    metrics = (await api.get("/metrics")).text
    checked = any(
        line.startswith("notifier_clock_check_seconds_count") and not line.endswith(" 0.0")
        for line in metrics.splitlines()
    )
    return checked and sum((await outcomes(api)).values()) >= len(OUTCOMES)


async def run(tmp_path: Path, url: str, **kafka: str) -> dict[str, Any]:
    """Load the history, wait for the outcomes, then restart and check again."""
    options = DemoOptions(simulate=False, data=load(tmp_path / "seeds.ndjson"))
    settings = demo_settings(url, **kafka)
    found: dict[str, Any] = {}
    for run in ("first", "restarted"):
        async with running_demo(options, settings, Console(quiet=True), FrozenClock(NOW)) as demo:
            transport = httpx.ASGITransport(app=demo.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://demo") as api:
                await wait_until(partial(judged, api), within=120, what="outcomes judged")
                found[run] = await outcomes(api)
                found[f"{run} shortfalls"] = await shortfalls(api)
    return found


EXPECTED = {(unit, phase, rule): 1 for (unit, phase), rule in OUTCOMES.items()}
