"""The dashboard in a real browser: headless Chromium signs in, finds Bắc Kạn without
diacritics, reads the figures the page shows and compares them with the JSON API's answers,
switches to English and opens it on a phone-sized screen. Screenshots are written to
``test-artifacts/dashboard-*.png``.

The query API runs in a real uvicorn server on the seed cases (SQLite), its clock frozen
at 16:00 on 28 May 2022 in Hà Nội, after every Bắc Kạn submission of the seed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect

from services.projector.api.app import create_query_app
from services.projector.api.settings import QueryApiSettings
from shared.persistence.engine import create_engine
from tests.conftest import UTC7, FrozenClock
from tests.dashboard_seed import ADMIN, TOKENS, project_seed_cases
from tests.processes import free_port

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LATE_MAY = dt.datetime(2022, 5, 28, 16, 0, tzinfo=UTC7)


@pytest.fixture
async def base_url(sqlite_url: str) -> AsyncIterator[str]:
    """The query API with the dashboard, served over HTTP until the test ends."""
    await project_seed_cases(sqlite_url)
    engine = create_engine(sqlite_url)
    app = create_query_app(engine, QueryApiSettings(tokens=TOKENS), clock=FrozenClock(LATE_MAY))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await serving
    await engine.dispose()


@pytest.fixture
def chromium() -> Path:
    """Debian's Chromium; missing, the test fails in CI and is skipped elsewhere."""
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (Debian package chromium)"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off"):
            pytest.fail(f"{reason}; CI is set, so the browser test must run")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium),
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield launched
        await launched.close()


async def api(base_url: str, path: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get(path, headers={"Authorization": f"Bearer {ADMIN}"})
    response.raise_for_status()
    document: dict[str, object] = response.json()
    return document


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"dashboard-{name}.png", full_page=True)


def vi_percent(ratio: float) -> str:
    return f"{ratio * 100:.1f} %".replace(".", ",")


async def test_an_official_finds_bac_kan_and_reads_the_figures_the_api_gives(
    base_url: str, browser: Browser
) -> None:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await context.new_page()

    await page.goto(f"{base_url}/")
    await expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    await shot(page, "sign-in")
    await page.get_by_label("Mã truy cập").fill(ADMIN)
    await page.get_by_role("button", name="Đăng nhập").click()

    await page.get_by_role("searchbox").fill("bac kan")
    await page.get_by_role("button", name="Tìm", exact=True).click()
    await page.get_by_role("link", name="LĐLĐ tỉnh Bắc Kạn").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("LĐLĐ tỉnh Bắc Kạn")

    progress = await api(base_url, "/v1/units/bac-kan/progress")
    phases = progress["phases"]
    assert isinstance(phases, list)
    for phase in phases:
        row = page.locator(f'tr[data-phase="{phase["phase_id"]}"]')
        await expect(row.locator('[data-col="value"]')).to_have_text(
            f"{phase['value']:,}".replace(",", ".")
        )
        await expect(row.locator('[data-col="target"]')).to_have_text(
            f"{phase['target']:,}".replace(",", ".")
        )
        await expect(row.locator('[data-col="share"]')).to_have_text(vi_percent(phase["ratio"]))
    current = phases[0]
    await expect(page.locator('[data-figure="value"]')).to_have_text(str(current["value"]))
    await expect(page.locator('tr[data-phase="bk-1"]')).to_contain_text("Chậm tiến độ")
    children = await api(base_url, "/v1/units/bac-kan/children")
    ranking = children["ranking"]
    assert isinstance(ranking, list)
    await expect(page.locator("table.ranking tbody tr")).to_have_count(len(ranking))
    await expect(page.locator("svg.progress polyline.actual")).to_have_count(1)
    await expect(page.locator("svg.progress line.pace")).to_have_count(1)
    await expect(page.locator(".notifications li")).to_have_count(2)
    await shot(page, "unit-vi")

    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Targets by phase")).to_be_visible()
    await expect(
        page.get_by_role("heading", name="Progress over time: Giai đoạn 1")
    ).to_be_visible()
    await expect(page.locator('tr[data-phase="bk-1"]')).to_contain_text("At risk")
    await expect(page.locator('tr[data-phase="bk-1"] [data-col="share"]')).to_have_text(
        f"{phases[0]['ratio'] * 100:.1f}%"
    )
    await expect(page.locator(".notifications")).to_contain_text("Reached 50% of target")
    await shot(page, "unit-en")

    await page.set_viewport_size({"width": 375, "height": 812})
    await page.get_by_role("link", name="Tiếng Việt").click()
    await expect(page.get_by_role("heading", name="Chỉ tiêu theo giai đoạn")).to_be_visible()
    overflow = await page.evaluate("document.documentElement.scrollWidth")
    assert overflow <= 375, f"the page is {overflow} px wide on a 375 px screen"
    await shot(page, "phone")
    await context.close()
