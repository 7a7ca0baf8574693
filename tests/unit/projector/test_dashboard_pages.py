"""The dashboard's pages over the projected seed cases: the figures are the JSON API's, in
the reader's language; a browser without a token gets the sign-in form, one outside its
scope a 403 page; a portal-supplied name is shown, never run; merged and closed units say
so wherever they are named; and a child without a plan is ranked with its real count."""

from __future__ import annotations

import csv
import html
import io
import re
import zipfile
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from markupsafe import escape

from services.projector.api.app import create_query_app
from services.projector.api.dashboard import page as unit_page_module
from services.projector.api.dashboard.session import COOKIE
from services.projector.api.settings import QueryApiSettings
from services.samples.portal_events import CAMPAIGN, CAMPAIGN_NAME
from shared.persistence.engine import create_engine
from tests.conftest import FrozenClock
from tests.dashboard_seed import ADMIN, BA_CHE, NASTY_NAME, TOKENS, project_seed_cases

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Origin": "http://dashboard"}
AS_OF = "2022-05-12T13:30:00+07:00"


@pytest.fixture
async def client(sqlite_url: str, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    """The query API at 13:30 on 12 May 2022 in Hà Nội, over the seed cases."""
    await project_seed_cases(sqlite_url)
    engine = create_engine(sqlite_url)
    app = create_query_app(engine, QueryApiSettings(tokens=TOKENS), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dashboard") as client:
        yield client
    await engine.dispose()


async def page(
    client: httpx.AsyncClient, path: str, token: str | None = ADMIN, **params: str
) -> httpx.Response:
    client.cookies.clear()
    if token:
        signed = await client.post("/sign-in", content=f"token={token}", headers=FORM)
        assert signed.status_code == 303, signed.text
    return await client.get(path, params=params)


def cells(body: str, phase_id: str) -> dict[str, str]:
    """The figures of one phase's row in the targets table, by column."""
    match = re.search(rf'<tr data-phase="{re.escape(phase_id)}".*?</tr>', body, re.S)
    assert match, f"no row for phase {phase_id!r}"
    row = match.group(0)
    figures = dict(re.findall(r'data-col="(\w+)">([^<]*)<', row))
    [status, *_] = re.findall(r'class="badge[^"]*">.*?</span>([^<]+)<', row)
    return {**figures, "status": status}


async def api(client: httpx.AsyncClient, path: str, **params: str) -> Any:
    response = await client.get(path, params=params, headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 200
    return response.json()


# -- signing in -----------------------------------------------------------------------------


async def test_without_a_token_a_page_is_the_sign_in_form_and_comes_back_after_it(
    client: httpx.AsyncClient,
) -> None:
    response = await page(client, "/units/bache-khoi-cq", token=None, lang="en")

    assert response.status_code == 401
    assert "<h1>Sign in</h1>" in response.text
    assert 'name="next" value="/units/bache-khoi-cq?lang=en"' in response.text

    signed = await client.post(
        "/sign-in", content=f"token={ADMIN}&next=%2Funits%2Fbache-khoi-cq%3Flang%3Den", headers=FORM
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/units/bache-khoi-cq?lang=en"
    cookie = signed.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=sha256:")
    assert ADMIN not in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=43200" in cookie
    assert "Secure" not in cookie


async def test_an_unknown_token_is_refused_and_a_foreign_address_never_followed(
    client: httpx.AsyncClient,
) -> None:
    refused = await client.post("/sign-in", content="token=guess&next=%2F", headers=FORM)
    assert refused.status_code == 401
    assert "Mã truy cập không đúng" in refused.text
    assert "set-cookie" not in refused.headers

    elsewhere = await client.post(
        "/sign-in", content=f"token={BA_CHE}&next=%2F%2Fevil.example%2F", headers=FORM
    )
    assert elsewhere.headers["location"] == "/"

    out = await client.post("/sign-out?lang=en", headers={"Origin": "http://dashboard"})
    assert out.status_code == 303
    assert out.headers["location"] == "/sign-in?lang=en"
    assert out.headers["set-cookie"].startswith(f'{COOKIE}="";')


@pytest.mark.parametrize(
    "origin",
    [{"Origin": "https://evil.example"}, {"Referer": "https://evil.example/form"}, {}],
    ids=["another origin", "another referer", "neither"],
)
async def test_forms_posted_from_another_site_are_refused(
    client: httpx.AsyncClient, origin: dict[str, str]
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **origin}

    signed = await client.post("/sign-in", content=f"token={ADMIN}", headers=headers)
    out = await client.post("/sign-out", headers=origin)

    assert (signed.status_code, out.status_code) == (403, 403)
    assert "set-cookie" not in signed.headers


async def test_a_session_ends_when_it_expires_and_a_forged_one_never_starts(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    assert (await page(client, "/units/bache-khoi-cq")).status_code == 200
    kept = client.cookies[COOKIE]

    clock.advance(hours=12, seconds=1)
    assert (await client.get("/units/bache-khoi-cq")).status_code == 401

    digest, expires, mac = kept.strip('"').split(".")
    client.cookies.clear()
    client.cookies.set(COOKIE, f"{digest}.{int(expires) + 86_400}.{mac}")
    assert (await client.get("/units/bache-khoi-cq")).status_code == 401
    client.cookies.set(COOKIE, ADMIN)
    assert (await client.get("/units/bache-khoi-cq")).status_code == 401


async def test_behind_a_tls_proxy_the_cookie_is_secure_when_configured(
    sqlite_url: str, clock: FrozenClock
) -> None:
    engine = create_engine(sqlite_url)
    settings = QueryApiSettings(tokens=TOKENS, cookie_secure=True)
    app = create_query_app(engine, settings, clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dashboard"
    ) as http:
        signed = await http.post("/sign-in", content=f"token={ADMIN}", headers=FORM)
    await engine.dispose()

    assert "Secure" in signed.headers["set-cookie"]


# -- figures --------------------------------------------------------------------------------


async def test_ba_che_phase_one_shows_20_of_36(client: httpx.AsyncClient) -> None:
    response = await page(client, "/units/bache-khoi-cq")

    assert response.status_code == 200
    assert cells(response.text, "bc-1") == {
        "target": "36",
        "value": "20",
        "share": "55,6 %",
        "participation": "20",
        "authors": "12",
        "status": "Chậm tiến độ",
    }
    assert cells(response.text, "")["target"] == "118"
    # The chart shows the current phase, with its target and pace lines.
    assert 'class="pace"' in response.text
    assert 'class="target"' in response.text


async def test_bac_kan_as_of_12_may_shows_the_json_apis_figures(
    client: httpx.AsyncClient,
) -> None:
    expected = await api(client, "/v1/units/bac-kan/progress", as_of=AS_OF)
    # The field's dd/mm/yyyy hh:mm, and an address's ISO instant with or without its offset
    # (local time), mean the same instant.
    for as_of in (AS_OF, "2022-05-12T13:30", "12/05/2022 13:30", " 12/5/2022  13:30 "):
        body = (await page(client, "/units/bac-kan", as_of=as_of)).text

        for phase in [*expected["phases"], expected["total"]]:
            shown = cells(body, phase["phase_id"])
            assert shown["value"] == f"{phase['value']:,}".replace(",", ".")
            assert shown["target"] == f"{phase['target']:,}".replace(",", ".")
            assert shown["share"] == f"{phase['ratio'] * 100:.1f} %".replace(".", ",")
        assert cells(body, "bk-1")["value"] == "455"
        assert cells(body, "bk-1")["share"] == "67,4 %"
        assert cells(body, "bk-1")["status"] == "Chậm tiến độ"
        # "455 lượt … đăng ký và nộp": 455 initiatives by 400 distinct members.
        assert (cells(body, "bk-1")["participation"], cells(body, "bk-1")["authors"]) == (
            "455",
            "400",
        )
        assert 'value="12/05/2022 13:30"' in body


async def test_english_words_and_numbers_and_links_keep_the_language(
    client: httpx.AsyncClient,
) -> None:
    vi = (await page(client, "/units/bac-kan")).text
    en = (await page(client, "/units/bac-kan", lang="en")).text

    assert "Chỉ tiêu theo giai đoạn" in vi
    assert '<html lang="vi">' in vi
    assert cells(vi, "")["target"] == "2.025"
    assert "Targets by phase" in en
    assert '<html lang="en">' in en
    assert cells(en, "bk-1")["share"] == "70.4%"
    assert cells(en, "")["target"] == "2,025"
    assert cells(en, "bk-1")["status"] == "At risk"
    assert "Reached 50% of target" in en
    assert "Tăng năng suất lao động" in vi
    assert "Labour productivity" in en
    assert "Công chức" in vi  # Bắc Kạn's civil servants, named by the shared catalogue
    assert "Civil servant" in en
    assert "lượt đăng ký và nộp" in vi
    links = [html.unescape(link) for link in re.findall(r'href="(/[^"]*)"', en)]
    assert len(links) > 10
    # Every link keeps English but the switch back, which keeps the address.
    assert [link for link in links if "lang=en" not in link] == ["/units/bac-kan?lang=vi"]


async def test_notifications_are_the_units_decisions_newest_first(
    client: httpx.AsyncClient,
) -> None:
    body = (await page(client, "/units/bac-kan")).text

    listed = re.findall(
        r'<span class="badge s-\w+">([^<]+)</span>', body.split("notifications")[-1]
    )
    assert listed == ["Có nguy cơ không đạt", "Đạt 50 % chỉ tiêu"]
    assert "420/675 (62,2 %), dự báo 560/675" in body
    assert "02/05/2022 08:00" in body


async def test_the_exports_are_the_json_apis_reports(client: httpx.AsyncClient) -> None:
    for kind in ("csv", "xlsx"):
        path = f"/units/bac-kan/report.{kind}"
        download = await page(client, path, campaign="1-trieu-sang-kien")
        client.cookies.clear()
        original = await client.get(f"/v1{path}", headers={"Authorization": f"Bearer {ADMIN}"})
        assert download.status_code == 200
        assert download.headers["content-type"] == original.headers["content-type"]
        assert download.headers["content-disposition"].endswith(f'report-bac-kan.{kind}"')
        if kind == "csv":
            assert download.content == original.content
    assert (
        await page(client, "/units/bac-kan/report.csv", token=None, campaign="x")
    ).status_code == 401


# -- search and scope -----------------------------------------------------------------------


async def test_search_ignores_diacritics_and_stays_inside_the_tokens_scope(
    client: httpx.AsyncClient,
) -> None:
    found = (await page(client, "/", q="bac kan")).text
    assert 'href="/units/bac-kan?lang=vi">LĐLĐ tỉnh Bắc Kạn</a>' in found

    scoped = (await page(client, "/", token=BA_CHE, q="ba che")).text
    assert "LĐLĐ huyện Ba Chẽ" in scoped
    assert "Công đoàn Khối cơ quan huyện Ba Chẽ" in scoped
    assert "Bắc Kạn" not in (await page(client, "/", token=BA_CHE, q="bac kan")).text
    start = (await page(client, "/", token=BA_CHE)).text
    assert 'href="/units/bache?lang=vi"' in start


@pytest.mark.parametrize("unit_id", ["bac-kan", "no-such-unit"])
async def test_a_unit_outside_the_scope_is_a_403_page(
    client: httpx.AsyncClient, unit_id: str
) -> None:
    response = await page(client, f"/units/{unit_id}", token=BA_CHE)

    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "Không có quyền xem đơn vị này" in response.text


async def test_the_breadcrumb_stops_at_the_tokens_own_unit(client: httpx.AsyncClient) -> None:
    body = (await page(client, "/units/bache-cq-1", token=BA_CHE)).text
    crumbs = body.split('class="breadcrumb"')[1].split("</nav>")[0]

    assert "LĐLĐ huyện Ba Chẽ" in crumbs
    assert "Quảng Ninh" not in crumbs
    assert "Công đoàn Khối cơ quan huyện Ba Chẽ" in crumbs


async def test_a_portal_supplied_name_is_shown_as_text(client: httpx.AsyncClient) -> None:
    for path in ("/units/bk-nasty", "/units/bk-bach-thong"):
        response = await page(client, path)

        assert response.status_code == 200
        assert "<script" not in response.text
        assert escape(NASTY_NAME) in response.text
        assert "default-src 'none'" in response.headers["content-security-policy"]


# -- merged and closed units ----------------------------------------------------------------


def head(body: str) -> str:
    """The page's header: the unit's name and what is said under it."""
    return body.split('class="unit-head"')[1].split("</section>")[0]


async def test_a_merged_units_page_names_its_successor_with_a_link_to_it(
    client: httpx.AsyncClient,
) -> None:
    vi = head((await page(client, "/units/bk-cho-moi")).text)
    en = head((await page(client, "/units/bk-cho-moi", lang="en")).text)

    successor = '<a href="/units/bk-bach-thong?campaign=1-trieu-sang-kien&amp;lang={}">'
    assert f"đã sáp nhập vào {successor.format('vi')}LĐLĐ huyện Bạch Thông</a>" in vi
    assert f"merged into {successor.format('en')}LĐLĐ huyện Bạch Thông</a>" in en
    assert "đã giải thể" not in vi


async def test_a_closed_units_page_says_it_was_dissolved(client: httpx.AsyncClient) -> None:
    vi = head((await page(client, "/units/bk-na-ri")).text)
    en = head((await page(client, "/units/bk-na-ri", lang="en")).text)

    assert '<span class="unit-state" data-state="closed">đã giải thể</span>' in vi
    assert '<span class="unit-state" data-state="closed">closed (dissolved)</span>' in en
    assert "sáp nhập" not in vi


async def test_an_open_unit_carries_no_mark(client: httpx.AsyncClient) -> None:
    for path in ("/units/bac-kan", "/units/bk-bach-thong"):
        body = (await page(client, path)).text

        assert 'class="unit-state' not in body
        assert "đã sáp nhập" not in body
        assert "đã giải thể" not in body


async def test_lists_of_units_mark_the_merged_and_closed_ones(client: httpx.AsyncClient) -> None:
    """The breadcrumb under a dissolved district, and search results, carry the same mark;
    the JSON API names the successor too."""
    body = (await page(client, "/units/bk-na-ri-1")).text
    crumbs = body.split('class="breadcrumb"')[1].split("</nav>")[0]
    merged = (await page(client, "/", q="cho moi")).text.split('class="unit-list"')[1]
    found = await api(client, "/v1/units", q="cho moi")

    assert re.search(r">LĐLĐ huyện Na Rì</a> <span [^>]*>đã giải thể</span>", crumbs)
    assert re.search(
        r">LĐLĐ huyện Chợ Mới</a> <span [^>]*>đã sáp nhập vào "
        r'<a href="/units/bk-bach-thong\?lang=vi">LĐLĐ huyện Bạch Thông</a>',
        merged,
    )
    assert [
        (u["unit_id"], u["state"], u["merged_into"], u["merged_into_name"]) for u in found["items"]
    ] == [("bk-cho-moi", "merged", "bk-bach-thong", "LĐLĐ huyện Bạch Thông")]


# -- rankings -------------------------------------------------------------------------------


async def test_a_child_without_a_plan_is_ranked_with_its_real_count(
    client: httpx.AsyncClient,
) -> None:
    """Neither Quảng Ninh nor the national union has a plan (only Ba Chẽ's union of agencies,
    two levels below Quảng Ninh, has one), so the projector keeps no phase figures for Quảng
    Ninh; its subtree's 23 submissions are still its value, with no target."""
    ranking = (await api(client, "/v1/units/vgcl/children"))["ranking"]
    initiatives = await api(client, "/v1/units/quang-ninh/initiatives")
    body = (await page(client, "/units/vgcl")).text
    row = re.search(r'<tr data-unit="quang-ninh">.*?</tr>', body, re.S)

    quang_ninh = next(entry for entry in ranking if entry["unit_id"] == "quang-ninh")
    assert initiatives["total"] == 23
    assert (quang_ninh["phase_id"], quang_ninh["value"], quang_ninh["target"]) == (None, 23, None)
    assert quang_ninh["status"] == "no_target"
    assert row
    assert re.findall(r'<td class="num">([^<]*)</td>', row.group(0)) == ["2", "23", "–"]


# -- follow-up ------------------------------------------------------------------------------


def follow_up_rows(body: str) -> list[tuple[str, str, str]]:
    """(unit id, reason, unit name) of each row of the follow-up table."""
    return re.findall(
        r'<tr data-unit="([^"]+)" data-reason="(\w+)">\s*<td><a href="[^"]+">([^<]+)</a>', body
    )


async def test_the_unit_page_lists_the_units_below_to_follow_up_with_their_status(
    client: httpx.AsyncClient,
) -> None:
    response = await page(client, "/units/vgcl")
    english = await page(client, "/units/vgcl", lang="en")
    listed = await api(client, "/v1/units/vgcl/follow-up")

    assert response.status_code == 200
    assert "<h2>Cần đôn đốc" in response.text
    assert "<h2>Needs follow-up" in english.text
    assert follow_up_rows(response.text) == [
        (item["unit_id"], item["reason"], html.escape(item["name"], quote=False))
        for item in listed["items"]
    ]
    section = response.text.split('id="follow-up"')[1]
    assert "Công đoàn Khối cơ quan huyện Ba Chẽ" in section
    assert "LĐLĐ tỉnh Bắc Kạn" in section
    assert "Chậm tiến độ" in section  # the status badge the page already uses
    assert 'href="/units/bac-kan?' in section


async def test_the_follow_up_page_lists_every_unit_and_says_when_none_is_left(
    client: httpx.AsyncClient,
) -> None:
    whole = await page(client, "/units/vgcl/follow-up", campaign=CAMPAIGN)
    none = await page(client, "/units/bache-khoi-cq", lang="en")
    refused = await page(client, "/units/vgcl/follow-up", token=BA_CHE, campaign=CAMPAIGN)

    assert whole.status_code == 200
    assert {unit_id for unit_id, _, _ in follow_up_rows(whole.text)} >= {"bac-kan", "bache-khoi-cq"}
    assert "No unit needs follow-up." in none.text
    assert refused.status_code == 403


async def test_a_long_follow_up_list_shows_its_first_units_and_links_to_all(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(unit_page_module, "FOLLOW_UP_SHOWN", 1)

    response = await page(client, "/units/vgcl")

    assert len(follow_up_rows(response.text)) == 1
    assert 'data-follow-up-total="2"' in response.text
    assert (
        f'<a href="/units/vgcl/follow-up?campaign={CAMPAIGN}&amp;lang=vi">Xem tất cả 2 đơn vị</a>'
        in response.text
    )


# -- the "as of" field ----------------------------------------------------------------------


async def test_the_as_of_field_is_dd_mm_yyyy_text_in_every_language(
    client: httpx.AsyncClient,
) -> None:
    vi = (await page(client, "/units/bac-kan")).text
    en = (await page(client, "/units/bac-kan", lang="en", as_of=AS_OF)).text

    for body in (vi, en):
        field = re.search(r'<input id="as_of"[^>]*>', body)
        assert field
        assert 'type="text"' in field.group(0)  # not the browser's locale-bound picker
        assert 'placeholder="dd/mm/yyyy hh:mm"' in field.group(0)
        assert "pattern=" in field.group(0)
    assert "ngày/tháng/năm giờ:phút, ví dụ 12/05/2022 13:30" in vi
    assert "day/month/year hour:minute, e.g. 12/05/2022 13:30" in en
    assert 'value="12/05/2022 13:30"' in en


async def test_a_day_alone_is_the_end_of_that_day(client: httpx.AsyncClient) -> None:
    expected = await api(
        client, "/v1/units/bac-kan/progress", as_of="2022-05-12T23:59:59.999999+07:00"
    )
    body = (await page(client, "/units/bac-kan", as_of="12/05/2022")).text

    assert cells(body, "bk-1")["value"] == str(expected["phases"][0]["value"])
    assert 'value="12/05/2022"' in body


async def test_an_as_of_the_page_cannot_read_is_explained_beside_the_field(
    client: httpx.AsyncClient,
) -> None:
    for bad in ("05/13/2022 13:30", "12/05/2022 25:00", "hôm qua", "12/05/1999"):
        response = await page(client, "/units/bac-kan", as_of=bad)

        assert response.status_code == 422
        assert 'aria-invalid="true"' in response.text
        assert f"Không đọc được thời điểm “{html.escape(bad)}”" in response.text
        assert cells(response.text, "bk-1")["value"] == "475"  # the current figures
    english = await page(client, "/units/bac-kan", lang="en", as_of="05/13/2022")
    assert "“05/13/2022” is not a moment this page can read" in english.text


# -- names, not ids -------------------------------------------------------------------------


async def test_pages_name_the_campaign_and_the_phases(client: httpx.AsyncClient) -> None:
    unit = (await page(client, "/units/bac-kan")).text
    ba_che = (await page(client, "/units/bache-khoi-cq", lang="en")).text
    follow_up = (await page(client, "/units/vgcl/follow-up", campaign=CAMPAIGN)).text

    for body in (unit, ba_che, follow_up):
        assert f"<strong>{CAMPAIGN_NAME}</strong>" in body
        assert f">{CAMPAIGN}<" not in body
    assert [
        re.sub(r"<[^>]+>", "", name).strip()
        for name in re.findall(
            r'<tr data-phase="[^"]*"[^>]*>\s*<th scope="row"><a [^>]*>([^<]+)</a>', unit
        )
    ] == ["Giai đoạn 1", "Giai đoạn 2", "Giai đoạn 3", "Cả phong trào"]
    assert "Progress over time: Giai đoạn II" not in ba_che
    assert "Giai đoạn I<" in ba_che
    assert "Giai đoạn 1 · " in follow_up  # each unit's phase, by name
    assert ">bk-1<" not in unit
    assert "bk-1 ·" not in follow_up


# -- reports --------------------------------------------------------------------------------


async def report(client: httpx.AsyncClient, unit_id: str, kind: str, **params: str) -> bytes:
    response = await client.get(
        f"/v1/units/{unit_id}/report.{kind}",
        params=params,
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    assert response.status_code == 200, response.text
    return response.content


async def test_the_csv_report_as_of_is_the_progress_answer_at_that_instant(
    client: httpx.AsyncClient,
) -> None:
    expected = await api(client, "/v1/units/bac-kan/progress", as_of=AS_OF)
    body = await report(client, "bac-kan", "csv", as_of=AS_OF)
    current = await report(client, "bac-kan", "csv")

    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, for Excel
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[:4] == [
        ["Đơn vị", "LĐLĐ tỉnh Bắc Kạn"],
        ["Phong trào", CAMPAIGN_NAME],
        ["Số liệu tại thời điểm", "2022-05-12T13:30:00+07:00", "Asia/Ho_Chi_Minh"],
        ["Thời điểm lập", "2022-05-12T13:30:00+07:00", "Asia/Ho_Chi_Minh"],
    ]
    statuses = {
        "at_risk": "Chậm tiến độ",
        "not_started": "Chưa bắt đầu",
        "on_track": "Đúng tiến độ",
    }
    assert rows[6:10] == [
        [
            phase["name"] or "Cả phong trào",
            phase["starts_on"],
            phase["ends_on"],
            str(phase["target"]),
            str(phase["value"]),
            f"{phase['ratio'] * 100:.1f}",
            statuses[phase["status"]],
        ]
        for phase in [*expected["phases"], expected["total"]]
    ]
    assert rows[6][:5] == ["Giai đoạn 1", "2022-01-01", "2022-05-31", "675", "455"]
    assert rows[11] == ["Đơn vị trực thuộc, Giai đoạn 1, số liệu hiện tại"]
    now = list(csv.reader(io.StringIO(current.decode("utf-8-sig"))))
    assert now[6][4] == "475"  # without as_of: the current figures
    assert now[11] == ["Đơn vị trực thuộc, Giai đoạn 1"]


async def test_a_report_as_of_needs_an_offset_as_progress_does(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/v1/units/bac-kan/report.csv",
        params={"as_of": "2022-05-12T13:30"},
        headers={"Authorization": f"Bearer {ADMIN}"},
    )
    refused = await page(client, "/units/bac-kan/report.xlsx", campaign=CAMPAIGN, as_of="x")

    assert response.status_code == 422
    assert refused.status_code == 422


def sheet_cells(workbook: bytes) -> dict[str, tuple[str, str]]:
    """Each cell of the first sheet: (its text or number, its number format)."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        strings = re.findall(r"<t[^>]*>([^<]*)</t>", archive.read("xl/sharedStrings.xml").decode())
        styles = archive.read("xl/styles.xml").decode()
    codes = dict(re.findall(r'<numFmt numFmtId="(\d+)" formatCode="([^"]*)"', styles))
    codes |= {"0": "General", "3": "#,##0", "10": "0.00%"}
    xfs = re.findall(r'<xf numFmtId="(\d+)"', styles.split("<cellXfs")[1])
    found = {}
    for ref, attributes, value in re.findall(r'<c r="(\w+)"([^>]*)><v>([^<]*)</v>', sheet):
        style = re.search(r's="(\d+)"', attributes)
        shown = strings[int(value)] if 't="s"' in attributes else value
        found[ref] = (
            html.unescape(shown),
            html.unescape(codes[xfs[int(style.group(1))] if style else "0"]),
        )
    return found


async def test_the_xlsx_report_has_names_and_vietnamese_formats(
    client: httpx.AsyncClient,
) -> None:
    cells_ = sheet_cells(await report(client, "bac-kan", "xlsx", as_of=AS_OF))

    assert cells_["B2"] == (CAMPAIGN_NAME, "General")
    # 12 May 2022 13:30 local as an Excel date and time, shown dd/mm/yyyy hh:mm.
    assert cells_["B3"] == ("44693.5625", "dd/mm/yyyy hh:mm")
    assert cells_["A7"][0] == "Giai đoạn 1"
    assert cells_["B7"] == ("44562", "dd/mm/yyyy")  # 1 January 2022
    assert cells_["D7"] == ("675", "#,##0")
    assert cells_["E7"] == ("455", "#,##0")
    assert cells_["F7"][1] == "0.0%"
    assert round(float(cells_["F7"][0]), 4) == 0.6741
    assert cells_["G7"][0] == "Chậm tiến độ"
    assert cells_["A10"][0] == "Cả phong trào"
    assert cells_["D10"] == ("2025", "#,##0")  # Excel in Vietnamese shows 2.025
    assert CAMPAIGN not in {text for text, _ in cells_.values()}


async def test_the_dashboards_exports_keep_the_pages_as_of(client: httpx.AsyncClient) -> None:
    body = (await page(client, "/units/bac-kan", as_of="12/05/2022 13:30")).text
    [link] = re.findall(r'href="/units/bac-kan/report\.csv\?([^"]+)"', body)
    query = dict(parse_qsl(html.unescape(link)))
    download = await page(client, "/units/bac-kan/report.csv", **query)
    original = await report(client, "bac-kan", "csv", campaign_id=CAMPAIGN, as_of=AS_OF)

    assert query["as_of"] == AS_OF
    assert download.content == original
