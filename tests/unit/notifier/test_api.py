"""The notifier's API: officials manage subscriptions only inside their token's scope, a
webhook's secret is never shown back, and every decision can be listed with its deliveries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.api import create_notifier_app
from services.notifier.decisions import ChangeJudge
from services.notifier.metrics import NotifierMetrics
from services.notifier.schema import nt_attempts, nt_deliveries, nt_subscriptions
from services.notifier.settings import NotifierSettings
from services.notifier.store import SqlStore
from shared.persistence.engine import create_engine
from shared.web.secrets import hash_secret
from tests.conftest import FrozenClock
from tests.unit.notifier import change, climb, seed_units, subscribe, webhook

ADMIN, BAC_KAN, BA_BE, QUANG_NINH = "admin-token", "bac-kan-token", "ba-be-token", "qn-token"
TOKENS = {
    hash_secret(ADMIN): "*",
    hash_secret(BAC_KAN): "bk",
    hash_secret(BA_BE): "bk-bb",
    hash_secret(QUANG_NINH): "qn",
}
SECRET = "s3cret-s3cret-s3cret"


@pytest.fixture
async def engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(sqlite_url)
    await seed_units(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
async def client(engine: AsyncEngine, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_notifier_app(engine, NotifierSettings(tokens=TOKENS), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def hook(unit_id: str, **given: Any) -> dict[str, Any]:
    return {
        "official": "Nguyễn Thị Lan",
        "unit_id": unit_id,
        "include_descendants": True,
        "rules": ["threshold_crossed", "missed"],
        "channel": "webhook",
        "address": "https://hooks.example.vn/lan",
        "secret": SECRET,
        **given,
    }


# -- subscriptions ---------------------------------------------------------------------------


async def test_an_official_subscribes_inside_the_scope_and_the_secret_is_never_shown(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/v1/subscriptions", json=hook("bk-bb"), headers=bearer(BAC_KAN))

    assert created.status_code == 201, created.text
    body = created.json()
    assert SECRET not in created.text
    assert "secret" not in body
    assert body["signed"] is True
    assert (body["unit_id"], body["language"], body["digest"]) == ("bk-bb", "vi", False)
    assert body["rules"] == ["threshold_crossed", "missed"]
    one = await client.get(f"/v1/subscriptions/{body['id']}", headers=bearer(BA_BE))
    listed = await client.get("/v1/subscriptions", headers=bearer(BAC_KAN))
    assert one.json() == body
    assert SECRET not in listed.text
    assert [item["id"] for item in listed.json()["items"]] == [body["id"]]


async def test_an_email_subscription_in_english_with_a_digest(client: httpx.AsyncClient) -> None:
    created = await client.post(
        "/v1/subscriptions",
        json=hook(
            "bk",
            channel="email",
            address="lan@ldld.backan.vn",
            secret=None,
            language="en",
            digest=True,
            rules=["missed", "at_risk", "missed"],
        ),
        headers=bearer(ADMIN),
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["channel"], body["signed"], body["language"], body["digest"]) == (
        "email",
        False,
        "en",
        True,
    )
    assert body["rules"] == ["missed", "at_risk"]


@pytest.mark.parametrize(
    "address",
    ["http://127.0.0.1:8001/ingest/v1/events", "http://localhost/", "http://169.254.169.254/"],
)
async def test_a_webhook_into_the_deployments_own_network_is_refused_when_subscribing(
    client: httpx.AsyncClient, address: str
) -> None:
    refused = await client.post(
        "/v1/subscriptions", json=hook("bk", address=address), headers=bearer(ADMIN)
    )

    assert refused.status_code == 422
    assert "address: refused" in refused.json()["detail"]


async def test_units_outside_the_tokens_scope_are_refused(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    bac_kan = await subscribe(engine, webhook("bk", ["missed"]))

    upwards = await client.post("/v1/subscriptions", json=hook("bk"), headers=bearer(BA_BE))
    elsewhere = await client.get(f"/v1/subscriptions/{bac_kan}", headers=bearer(QUANG_NINH))
    listing = await client.get(
        "/v1/subscriptions", params={"unit_id": "bk"}, headers=bearer(QUANG_NINH)
    )
    removal = await client.delete(f"/v1/subscriptions/{bac_kan}", headers=bearer(QUANG_NINH))
    unknown = await client.post("/v1/subscriptions", json=hook("nowhere"), headers=bearer(BAC_KAN))
    own = await client.get("/v1/subscriptions", headers=bearer(QUANG_NINH))

    assert [r.status_code for r in (upwards, listing, unknown)] == [403] * 3
    assert [r.status_code for r in (elsewhere, removal)] == [404] * 2, "ids reveal nothing"
    assert elsewhere.json() == {"detail": f"subscription {bac_kan} does not exist"}
    assert upwards.json() == {"detail": "unit 'bk' is outside this token's scope"}
    assert own.json() == {"items": []}
    missing = await client.post("/v1/subscriptions", json=hook("nowhere"), headers=bearer(ADMIN))
    assert missing.status_code == 404


async def test_a_missing_or_unknown_token_is_unauthorised(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/v1/subscriptions")
    unknown = await client.get("/v1/notifications", headers=bearer("guessed"))

    assert (anonymous.status_code, unknown.status_code) == (401, 401)
    assert unknown.headers["www-authenticate"] == 'Bearer realm="initiatives-notifier"'


@pytest.mark.parametrize(
    ("change_", "complaint"),
    [
        ({"secret": None}, "a webhook needs a secret"),
        ({"address": "ftp://hooks.example.vn"}, "http(s) URL"),
        ({"channel": "email", "address": "lan@ldld.backan.vn"}, "only webhooks are signed"),
        ({"channel": "email", "address": "lan", "secret": None}, "an e-mail address"),
        ({"include_descendants": False, "digest": True}, "set include_descendants=true"),
        ({"rules": ["digest"]}, "use digest=true"),
        ({"rules": ["follow_up"]}, "follow_up is a daily list: set digest=true"),
        ({"rules": []}, "at least 1 item"),
        ({"rules": ["late"]}, "Input should be"),
        ({"secret": "short"}, "at least 16 characters"),
    ],
)
async def test_an_inconsistent_subscription_is_refused_with_the_reason(
    client: httpx.AsyncClient, change_: dict[str, Any], complaint: str
) -> None:
    refused = await client.post(
        "/v1/subscriptions", json=hook("bk", **change_), headers=bearer(ADMIN)
    )

    assert refused.status_code == 422
    assert complaint in refused.text


async def test_a_deleted_subscription_is_gone_but_stays_on_record(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    subscription = await subscribe(engine, webhook("bk-bb", ["missed"]))

    deleted = await client.delete(f"/v1/subscriptions/{subscription}", headers=bearer(BA_BE))
    again = await client.get(f"/v1/subscriptions/{subscription}", headers=bearer(BA_BE))
    listed = await client.get("/v1/subscriptions", headers=bearer(ADMIN))

    assert (deleted.status_code, again.status_code) == (204, 404)
    assert listed.json() == {"items": []}
    async with engine.connect() as connection:
        reason = await connection.scalar(sa.select(nt_subscriptions.c.disabled_reason))
    assert reason == "deleted by its owner"


# -- notifications ---------------------------------------------------------------------------


@pytest.fixture
async def decided(engine: AsyncEngine, clock: FrozenClock) -> int:
    """Bắc Kạn crosses 50 % and 80 %, at risk between; Ba Bể and Quảng Ninh cross thresholds
    too. Returns the subscription following Bắc Kạn."""
    subscription = await subscribe(engine, webhook("bk", ["threshold_crossed"], official="Lan"))
    metrics = NotifierMetrics()
    judge = ChangeJudge(SqlStore(engine, metrics), NotifierSettings().rules_for, metrics, clock)
    await judge.apply(
        [
            *climb("bk", 350, 560),
            change("bk-bb", 100, target=100),
            change("qn", 900, target=1000),
        ]
    )
    return subscription


async def test_every_decision_is_listed_newest_first_with_its_figures(
    client: httpx.AsyncClient, decided: int
) -> None:
    listed = await client.get("/v1/notifications", headers=bearer(ADMIN))

    items = listed.json()["items"]
    assert [(i["unit_id"], i["rule"], i["threshold"]) for i in items] == [
        ("qn", "threshold_crossed", 0.8),
        ("bk-bb", "threshold_crossed", 1.0),
        ("bk", "back_on_track", None),
        ("bk", "threshold_crossed", 0.8),
        ("bk", "at_risk", None),
        ("bk", "threshold_crossed", 0.5),
    ]
    first = items[-1]
    assert (first["value"], first["target"], first["ratio"]) == (
        350,
        675,
        pytest.approx(0.5185, abs=1e-4),
    )
    assert first["unit_name"] == "LĐLĐ tỉnh Bắc Kạn"
    assert first["phase_id"] == "1"
    assert first["decided_at"] == "2022-05-12T06:30:00Z"
    assert listed.json()["next_before"] is None


async def test_notifications_are_filtered_by_unit_phase_and_rule_and_paged(
    client: httpx.AsyncClient, decided: int
) -> None:
    crossings = await client.get(
        "/v1/notifications",
        params={"unit_id": "bk", "phase_id": "1", "rule": "threshold_crossed"},
        headers=bearer(BAC_KAN),
    )
    subtree = await client.get("/v1/notifications", headers=bearer(BAC_KAN))
    page = await client.get("/v1/notifications", params={"limit": 2}, headers=bearer(ADMIN))
    following = await client.get(
        "/v1/notifications",
        params={"limit": 2, "before": page.json()["next_before"]},
        headers=bearer(ADMIN),
    )
    elsewhere = await client.get(
        "/v1/notifications", params={"unit_id": "bk"}, headers=bearer(QUANG_NINH)
    )

    assert [i["threshold"] for i in crossings.json()["items"]] == [0.8, 0.5]
    assert {i["unit_id"] for i in subtree.json()["items"]} == {"bk", "bk-bb"}
    assert [i["unit_id"] for i in page.json()["items"]] == ["qn", "bk-bb"]
    assert [i["unit_id"] for i in following.json()["items"]] == ["bk", "bk"]
    assert elsewhere.status_code == 403


async def test_a_notifications_deliveries_and_attempts_are_shown(
    client: httpx.AsyncClient, engine: AsyncEngine, clock: FrozenClock, decided: int
) -> None:
    async with engine.begin() as connection:
        delivery = (
            await connection.execute(sa.select(nt_deliveries).order_by(nt_deliveries.c.id))
        ).first()
        assert delivery is not None
        await connection.execute(
            nt_attempts.insert().values(
                delivery_id=delivery.id,
                at=clock.now,
                outcome="retry",
                detail="HTTP 503 (retry in 5 s)",
            )
        )

    shown = await client.get(
        f"/v1/notifications/{delivery.decision_id}/attempts", headers=bearer(BAC_KAN)
    )
    elsewhere = await client.get(
        f"/v1/notifications/{delivery.decision_id}/attempts", headers=bearer(QUANG_NINH)
    )
    missing = await client.get("/v1/notifications/999/attempts", headers=bearer(ADMIN))

    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["notification"]["id"] == delivery.decision_id
    (only,) = body["deliveries"]
    assert (only["subscription_id"], only["official"], only["channel"], only["status"]) == (
        decided,
        "Lan",
        "webhook",
        "pending",
    )
    assert [(a["outcome"], a["detail"]) for a in only["history"]] == [
        ("retry", "HTTP 503 (retry in 5 s)")
    ]
    assert (elsewhere.status_code, missing.status_code) == (404, 404)
