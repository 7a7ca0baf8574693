"""The one-process demo on the embedded default: the sample's figures, a moving portal, and
every API on one port."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from rich.console import Console

from services.demo.main import DemoOptions, RunningDemo, running_demo, tour
from services.demo.notifications import BATCH, SHOWN_PER_POLL, NotificationLog
from services.projector.schema import rm_closure
from services.samples import province, seed_cases
from shared.messaging.transport import EmbeddedTransport
from tests.conftest import UTC7, FrozenClock
from tests.demo_settings import ADMIN, KEYS, demo_settings
from tests.kafka_tools import wait_until

NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=UTC7)


def quiet() -> Console:
    return Console(quiet=True)


@pytest.fixture(scope="module")
async def demo(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningDemo]:
    """One demo for the module: loading the sample takes seconds, and no test undoes
    another's figures (each compares with what it read first)."""
    tmp_path = tmp_path_factory.mktemp("demo")
    options = DemoOptions(interval_seconds=0, sample_file=tmp_path / "sample.ndjson")
    settings = demo_settings(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    async with running_demo(options, settings, quiet(), FrozenClock(NOW)) as running:
        yield running


def client(demo: RunningDemo) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=demo.app), base_url="http://demo")


async def phase(http: httpx.AsyncClient, unit_id: str, phase_id: str, **params: str) -> dict:
    response = await http.get(f"/v1/units/{unit_id}/progress", headers=ADMIN, params=params)
    assert response.status_code == 200, response.text
    return next(p for p in response.json()["phases"] if p["phase_id"] == phase_id)


async def test_the_sample_shows_the_seed_cases_figures(demo: RunningDemo) -> None:
    async with client(demo) as http:
        ba_che = await phase(http, "bache-khoi-cq", "bc-1")
        bac_kan = await phase(http, "bac-kan", "bk-1", as_of="2022-05-12T13:30:00+07:00")
    assert (ba_che["value"], ba_che["target"], ba_che["status"]) == (20, 36, "missed")
    assert (bac_kan["value"], bac_kan["target"], bac_kan["status"]) == (455, 675, "at_risk")


async def test_the_synthetic_province_is_mid_phase_with_its_history_judged(
    demo: RunningDemo,
) -> None:
    async with client(demo) as http:
        first = await phase(http, province.PROVINCE, "sm-1")
        notifications = await http.get(
            "/v1/notifications", headers=ADMIN, params={"unit_id": province.PROVINCE}
        )
        ranking = await http.get(f"/v1/units/{province.PROVINCE}/children", headers=ADMIN)
    assert first["ends_on"] == "2026-12-01"
    assert 0.5 < first["ratio"] < 1.0
    crossed = {n["threshold"] for n in notifications.json()["items"]}
    assert {0.5} <= crossed
    assert len(ranking.json()["ranking"]) == 6


async def test_the_simulated_portals_submissions_reach_the_figures(demo: RunningDemo) -> None:
    assert demo.portal is not None
    async with client(demo) as http:
        before = (await phase(http, province.PROVINCE, "sm-1"))["value"]
        for _ in range(5):
            await demo.portal.send_tick()

        async def counted() -> bool:
            return (await phase(http, province.PROVINCE, "sm-1"))["value"] == before + 5

        await wait_until(counted, within=10, what="the five new submissions")


async def test_one_port_serves_every_api_and_the_services_metrics(demo: RunningDemo) -> None:
    event = {
        "event_id": "own-1",
        "type": "initiative.submitted",
        "schema_version": 1,
        "occurred_at": NOW.isoformat(),
        "source": "my-portal",
        "data": {
            "initiative_id": "own-1",
            "campaign_id": province.CAMPAIGN,
            "unit_id": "sm-tp-1",
            "title": "Sáng kiến của tôi",
            "category": "productivity",
            "authors": [{"name": "Lê Thị Hà"}],
        },
    }
    async with client(demo) as http:
        sent = await http.post(
            "/ingest/v1/events", json=event, headers={"X-API-Key": KEYS.portal_key}
        )
        ready = await http.get("/readyz")
        metrics = (await http.get("/metrics")).text
        subscriptions = await http.get("/v1/subscriptions", headers=ADMIN)
        refused = await http.get("/v1/units/bac-kan/progress")
    assert sent.status_code == 200, sent.text
    assert json.loads(sent.text)["results"][0]["status"] == "accepted"
    assert ready.json()["status"] == "ready"
    for metric in ("ingest_events_total", "projector_events_applied_total", "notifier_decisions"):
        assert metric in metrics
    assert subscriptions.status_code == 200
    assert refused.status_code == 401


async def test_a_restart_keeps_the_database_and_loads_nothing_twice(tmp_path: Path) -> None:
    options = DemoOptions(interval_seconds=0, sample_file=tmp_path / "sample.ndjson")
    settings = demo_settings(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    values = []
    for _ in range(2):
        demo = running_demo(options, settings, quiet(), FrozenClock(NOW))
        async with demo as running, client(running) as http:
            values.append((await phase(http, "bache-khoi-cq", "bc-1"))["value"])
    assert values == [20, 20]


async def test_a_burst_of_notifications_is_summed_up_in_the_log(demo: RunningDemo) -> None:
    out = io.StringIO()
    log = NotificationLog(demo.engine, Console(file=out, width=200), "en")
    printed = await log.print_new()
    lines = out.getvalue().splitlines()
    assert printed == BATCH
    assert len(lines) == SHOWN_PER_POLL + 1
    assert lines[-1].startswith(f"🔔 … and {BATCH - SHOWN_PER_POLL} more")
    assert any("reached" in line or "at risk" in line for line in lines[:-1])


async def test_your_own_data_replaces_the_sample_and_the_simulated_portal(
    tmp_path: Path,
) -> None:
    own = [
        *seed_cases.hierarchy(),
        *seed_cases.plans(),
        *seed_cases.ba_che_submissions(),
    ]
    data = tmp_path / "own.ndjson"
    data.write_text("\n".join(json.dumps(event) for event in own), encoding="utf-8")
    options = DemoOptions(data=data, sample_file=tmp_path / "unused.ndjson")
    settings = demo_settings(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    demo = running_demo(options, settings, quiet(), FrozenClock(NOW))
    async with demo as running, client(running) as http:
        ba_che = await phase(http, "bache-khoi-cq", "bc-1")
        province_answer = await http.get(f"/v1/units/{province.PROVINCE}/progress", headers=ADMIN)
    assert running.portal is None
    assert ba_che["value"] == 20
    assert province_answer.status_code == 404
    assert not (tmp_path / "unused.ndjson").exists()


async def test_the_dashboards_badges_and_the_notifications_agree_on_the_synthetic_province(
    demo: RunningDemo,
) -> None:
    """For every unit of Sơn Minh with a target in the running phase: the badge its page
    shows is "at risk" exactly when the last pace notification about it says so."""
    async with demo.engine.connect() as connection:
        units = sorted(
            await connection.scalars(
                sa.select(rm_closure.c.descendant_id).where(
                    rm_closure.c.ancestor_id == province.PROVINCE
                )
            )
        )

    async def judged_now() -> bool:
        metrics = (await http.get("/metrics")).text
        return "notifier_progress_outbox_backlog 0.0" in metrics and await clock_ticked()

    checks: list[float] = []

    async def clock_ticked() -> bool:
        metrics = (await http.get("/metrics")).text
        count = next(
            float(line.split()[-1])
            for line in metrics.splitlines()
            if line.startswith("notifier_clock_check_seconds_count")
        )
        checks.append(count)
        return checks[-1] >= checks[0] + 2

    async with client(demo) as http:
        await wait_until(judged_now, within=30, what="changes judged and the clock ticked")
        signed = await http.post(
            "/sign-in",
            content=f"token={KEYS.admin_token}",
            headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://demo"},
        )
        assert signed.status_code == 303, signed.text
        badges, told = {}, {}
        for unit_id in units:
            page = await http.get(
                f"/units/{unit_id}", params={"campaign": province.CAMPAIGN, "phase": "sm-1"}
            )
            assert page.status_code == 200, page.text
            badges[unit_id] = re.findall(
                r'class="figure-note"><span class="badge s-(\w+)"', page.text
            )[0]
            listed = await http.get(
                "/v1/notifications",
                headers=ADMIN,
                params={"unit_id": unit_id, "phase_id": "sm-1", "limit": 1000},
            )
            pace = [
                item["rule"]
                for item in listed.json()["items"]
                if item["unit_id"] == unit_id and item["rule"] in ("at_risk", "back_on_track")
            ]
            told[unit_id] = bool(pace) and pace[0] == "at_risk"  # newest first

    assert len(badges) > 200
    assert {unit for unit, badge in badges.items() if badge == "at_risk"} == {
        unit for unit, at_risk in told.items() if at_risk
    }
    assert any(told.values()), "the sample has units at risk"


@pytest.mark.parametrize(
    ("options", "promised"),
    [
        (DemoOptions(), "thresholds are crossed as you watch"),
        (
            DemoOptions(simulate=False),
            "the simulated portal is off (--no-simulate), so its figures",
        ),
        (DemoOptions(data=Path("mine.ndjson")), None),
    ],
    ids=["simulating", "no-simulate", "data"],
)
def test_the_tour_says_what_the_demo_does(options: DemoOptions, promised: str | None) -> None:
    console = Console(record=True, width=100)
    tour(console, options, KEYS, EmbeddedTransport())
    text = console.export_text()
    if promised is None:
        assert "A short tour" not in text
    else:
        assert promised in text
    if not options.simulating:
        assert "as you watch" not in text
