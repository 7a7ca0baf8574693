"""The delivery worker against a real HTTP receiver and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Mapping
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.channels.base import Channel, Message, Recipient, TransientFailure
from services.notifier.channels.email import EmailChannel, SmtpConfig
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.delivery import DeliveryWorker, RetryPolicy
from services.notifier.delivery_metrics import DeliveryMetrics
from services.notifier.schema import nt_attempts, nt_decisions, nt_deliveries, nt_subscriptions
from shared.persistence.engine import create_engine
from tests.conftest import FrozenClock
from tests.published import publish_units
from tests.receivers import LOCAL_RECEIVERS, Mailbox, WebhookReceiver, serving, smtp_serving

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SECRET = "s3cret-of-the-subscription"
DETAILS = {"phase_name": "Giai đoạn 1", "starts_on": "2022-01-01", "ends_on": "2022-05-31"}


# -- real receivers (tests/receivers.py) -----------------------------------------------------


@pytest.fixture
async def receiver(clock: FrozenClock) -> AsyncIterator[WebhookReceiver]:
    async with serving(WebhookReceiver(SECRET, clock)) as hook:
        yield hook


@pytest.fixture
async def smtp_server() -> AsyncIterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    async with smtp_serving(mailbox) as port:
        yield mailbox, port


# -- rows -------------------------------------------------------------------------------------


async def add_units(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await publish_units(
            connection,
            [("bac-kan", "LĐLĐ tỉnh Bắc Kạn", None), ("bk-cdcs-1", "CĐCS số 1 Bạch Thông", None)],
        )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await add_units(engine)
    yield engine
    await engine.dispose()


def webhooks(client: httpx.AsyncClient, clock: FrozenClock) -> dict[str, Channel]:
    """The webhook channel, allowed to reach the test receivers on loopback."""
    return {"webhook": WebhookChannel(client, clock, targets=LOCAL_RECEIVERS)}


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


async def add_decision(engine: AsyncEngine, clock: FrozenClock, **values: Any) -> int:
    row = {
        "key": f"bac-kan/c/bk-1/threshold_crossed/{values.get('threshold', 0.8)}",
        "unit_id": "bac-kan",
        "campaign_id": "1-trieu-sang-kien",
        "phase_id": "bk-1",
        "rule": "threshold_crossed",
        "threshold": 0.8,
        "value": 540,
        "target": 675,
        "details": DETAILS,
        "decided_at": clock(),
    } | values
    async with engine.begin() as connection:
        result = await connection.execute(nt_decisions.insert().values(row))
    return int(result.inserted_primary_key[0])


async def add_subscription(engine: AsyncEngine, clock: FrozenClock, **values: Any) -> int:
    row = {
        "official": "chu-tich@bac-kan",
        "unit_id": "bac-kan",
        "include_descendants": False,
        "rules": ["threshold_crossed"],
        "channel": "webhook",
        "address": "http://127.0.0.1:9/never",
        "secret": SECRET,
        "language": "vi",
        "created_at": clock(),
    } | values
    async with engine.begin() as connection:
        result = await connection.execute(nt_subscriptions.insert().values(row))
    return int(result.inserted_primary_key[0])


async def add_delivery(
    engine: AsyncEngine,
    clock: FrozenClock,
    decision: int,
    subscription: int,
    status: str = "pending",
) -> int:
    async with engine.begin() as connection:
        result = await connection.execute(
            nt_deliveries.insert().values(
                decision_id=decision,
                subscription_id=subscription,
                status=status,
                attempts=0,
                next_attempt_at=clock(),
                created_at=clock(),
            )
        )
    return int(result.inserted_primary_key[0])


async def one_delivery(engine: AsyncEngine, clock: FrozenClock, **subscription: Any) -> int:
    """A decision and a subscription (``subscription``: its columns) with one delivery."""
    decision = await add_decision(engine, clock)
    return await add_delivery(
        engine, clock, decision, await add_subscription(engine, clock, **subscription)
    )


async def delivery(engine: AsyncEngine, delivery_id: int) -> sa.Row[Any]:
    async with engine.connect() as connection:
        query = sa.select(nt_deliveries).where(nt_deliveries.c.id == delivery_id)
        return (await connection.execute(query)).one()


async def attempts(engine: AsyncEngine, delivery_id: int) -> list[tuple[str, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(nt_attempts.c.outcome, nt_attempts.c.detail)
            .where(nt_attempts.c.delivery_id == delivery_id)
            .order_by(nt_attempts.c.id)
        )
        return [(row.outcome, row.detail) for row in rows]


async def disabled_reason(engine: AsyncEngine, subscription_id: int) -> str | None:
    async with engine.connect() as connection:
        query = sa.select(nt_subscriptions.c.disabled_reason).where(
            nt_subscriptions.c.id == subscription_id
        )
        reason: str | None = (await connection.execute(query)).scalar_one()
        return reason


def make_worker(
    engine: AsyncEngine, channels: Mapping[str, Channel], clock: FrozenClock, **options: Any
) -> DeliveryWorker:
    """A worker whose jitter draws 1.0, so backoff is exactly 5 s, 10 s, 20 s …"""
    options = {"draw": lambda: 1.0} | options
    return DeliveryWorker(engine, channels, DeliveryMetrics(), clock, **options)


def sample(worker: DeliveryWorker, name: str, **labels: str) -> float | None:
    return worker._metrics.registry.get_sample_value(name, labels)


# -- webhooks ---------------------------------------------------------------------------------


async def test_a_delivery_whose_stored_decision_cannot_make_a_message_ends_and_holds_no_other(
    engine: AsyncEngine,
    clock: FrozenClock,
    receiver: WebhookReceiver,
    http_client: httpx.AsyncClient,
) -> None:
    subscription = await add_subscription(engine, clock, address=receiver.url)
    broken = await add_delivery(
        engine,
        clock,
        await add_decision(
            engine, clock, key="digest/broken", rule="digest", details={"children": [{"x": 1}]}
        ),
        subscription,
    )
    fine = await add_delivery(engine, clock, await add_decision(engine, clock), subscription)
    worker = make_worker(engine, webhooks(http_client, clock), clock)

    assert await worker.deliver_due() == 1

    assert (await delivery(engine, broken)).status == "dead"
    assert await attempts(engine, broken) == [("dead", "cannot be sent: KeyError: 'unit_id'")]
    assert (await delivery(engine, fine)).status == "sent"
    assert len(receiver.requests) == 1


async def test_a_receiver_failing_three_times_gets_one_delivery_after_four_logged_attempts(
    engine: AsyncEngine,
    clock: FrozenClock,
    receiver: WebhookReceiver,
    http_client: httpx.AsyncClient,
) -> None:
    receiver.statuses.extend([503, 502, 500])
    delivery_id = await one_delivery(engine, clock, address=receiver.url)
    worker = make_worker(engine, webhooks(http_client, clock), clock)

    waits = []
    for _ in range(3):
        assert await worker.deliver_due() == 1
        row = await delivery(engine, delivery_id)
        assert row.status == "failed"
        waits.append((row.next_attempt_at - clock()).total_seconds())
        assert await worker.deliver_due() == 0, "not due before its backoff"
        clock.now = row.next_attempt_at
    assert await worker.deliver_due() == 1

    assert waits == [5.0, 10.0, 20.0]
    row = await delivery(engine, delivery_id)
    assert (row.status, row.attempts) == ("sent", 4)
    log = await attempts(engine, delivery_id)
    assert [outcome for outcome, _ in log] == ["retry", "retry", "retry", "sent"]
    assert log[0][1].startswith("HTTP 503 Service Unavailable")
    assert len(receiver.requests) == 4
    assert all(request.verified for request in receiver.requests)
    assert sample(worker, "notifier_delivery_retries_total", channel="webhook") == 3
    assert sample(worker, "notifier_deliveries_total", channel="webhook", outcome="sent") == 1


async def test_a_woken_worker_sends_at_once_instead_of_after_its_idle_pause(
    engine: AsyncEngine,
    clock: FrozenClock,
    receiver: WebhookReceiver,
    http_client: httpx.AsyncClient,
) -> None:
    worker = make_worker(
        engine,
        webhooks(http_client, clock),
        clock,
        idle_seconds=600,
    )
    running = asyncio.create_task(worker.run())
    try:
        await asyncio.sleep(0.2)
        assert receiver.requests == [], "idle: nothing queued yet"
        await one_delivery(engine, clock, address=receiver.url)
        worker.wakeup.wake()
        await asyncio.wait_for(receiver.arrived.wait(), 5)
    finally:
        running.cancel()

    assert len(receiver.requests) == 1


async def test_the_real_receiver_verifies_the_signature_of_the_json_body(
    engine: AsyncEngine,
    clock: FrozenClock,
    receiver: WebhookReceiver,
    http_client: httpx.AsyncClient,
) -> None:
    await one_delivery(engine, clock, address=receiver.url, language="en")
    worker = make_worker(engine, webhooks(http_client, clock), clock)

    assert await worker.deliver_due() == 1

    (request,) = receiver.requests
    assert request.verified
    assert request.headers["x-timestamp"] == str(int(clock().timestamp()))
    assert not receiver.verify(request.headers, request.body + b" "), "a changed body fails"
    clock.advance(minutes=6)
    assert not receiver.verify(request.headers, request.body), "an old request is a replay"
    body = json.loads(request.body)
    assert body["rule"] == "threshold_crossed"
    assert body["unit"] == {"id": "bac-kan", "name": "LĐLĐ tỉnh Bắc Kạn"}
    assert body["phase"] == {"id": "bk-1", "name": "Giai đoạn 1", "ends_on": "2022-05-31"}
    assert body["values"]["value"] == 540
    assert body["values"]["target"] == 675
    assert body["message"]["language"] == "en"
    assert body["message"]["text"].startswith(
        "LĐLĐ tỉnh Bắc Kạn has reached 80% of its target for Giai đoạn 1 (540/675)."
    )


async def test_a_gone_endpoint_is_dead_after_one_attempt_and_its_subscription_disabled(
    engine: AsyncEngine,
    clock: FrozenClock,
    receiver: WebhookReceiver,
    http_client: httpx.AsyncClient,
) -> None:
    receiver.statuses.append(410)
    subscription = await add_subscription(engine, clock, address=receiver.url)
    first = await add_delivery(engine, clock, await add_decision(engine, clock), subscription)
    worker = make_worker(engine, webhooks(http_client, clock), clock)

    assert await worker.deliver_due() == 1

    row = await delivery(engine, first)
    assert (row.status, row.attempts) == ("dead", 1)
    assert await attempts(engine, first) == [("dead", "HTTP 410 Gone")]
    assert await disabled_reason(engine, subscription) == f"delivery {first}: HTTP 410 Gone"
    assert sample(worker, "notifier_deliveries_total", channel="webhook", outcome="dead") == 1

    later = await add_delivery(
        engine, clock, await add_decision(engine, clock, key="later", threshold=1.0), subscription
    )
    clock.advance(hours=2)
    assert await worker.deliver_due() == 1
    assert (await delivery(engine, later)).status == "dead"
    assert (await attempts(engine, later))[0][1].startswith("not sent: subscription disabled")
    assert len(receiver.requests) == 1, "a disabled endpoint is not called again"


async def test_a_delivery_marked_sent_is_not_sent_again(
    engine: AsyncEngine,
    clock: FrozenClock,
    receiver: WebhookReceiver,
    http_client: httpx.AsyncClient,
) -> None:
    subscription = await add_subscription(engine, clock, address=receiver.url)
    fresh = await add_delivery(engine, clock, await add_decision(engine, clock), subscription)
    already = await add_delivery(
        engine, clock, await add_decision(engine, clock, key="old"), subscription, status="sent"
    )
    worker = make_worker(engine, webhooks(http_client, clock), clock)

    assert await worker.deliver_due() == 1
    clock.advance(days=1)
    assert await worker.deliver_due() == 0

    assert len(receiver.requests) == 1
    assert (await delivery(engine, fresh)).status == "sent"
    assert await attempts(engine, already) == []


async def test_transient_failures_give_up_after_max_attempts_without_disabling(
    engine: AsyncEngine,
    clock: FrozenClock,
    receiver: WebhookReceiver,
    http_client: httpx.AsyncClient,
) -> None:
    receiver.statuses.extend([500, 429, 500])
    delivery_id = await one_delivery(engine, clock, address=receiver.url)
    worker = make_worker(
        engine,
        webhooks(http_client, clock),
        clock,
        policy=RetryPolicy(max_attempts=3),
    )

    for _ in range(3):
        assert await worker.deliver_due() == 1
        clock.advance(hours=1)

    row = await delivery(engine, delivery_id)
    assert (row.status, row.attempts) == ("dead", 3)
    outcomes = await attempts(engine, delivery_id)
    assert [outcome for outcome, _ in outcomes] == ["retry", "retry", "dead"]
    assert outcomes[-1][1].startswith("gave up after 3 attempts: HTTP 500")
    assert await disabled_reason(engine, row.subscription_id) is None


async def test_an_unreachable_endpoint_is_retried(
    engine: AsyncEngine, clock: FrozenClock, http_client: httpx.AsyncClient
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    delivery_id = await one_delivery(engine, clock, address=f"http://127.0.0.1:{port}/")
    worker = make_worker(engine, webhooks(http_client, clock), clock)

    assert await worker.deliver_due() == 1

    assert (await delivery(engine, delivery_id)).status == "failed"
    [(outcome, detail)] = await attempts(engine, delivery_id)
    assert outcome == "retry"
    assert detail.startswith("ConnectError")


async def test_a_delivery_in_flight_is_not_claimed_by_another_pass(
    engine: AsyncEngine,
    clock: FrozenClock,
    receiver: WebhookReceiver,
    http_client: httpx.AsyncClient,
) -> None:
    receiver.hold = asyncio.Event()
    delivery_id = await one_delivery(engine, clock, address=receiver.url)
    channels = webhooks(http_client, clock)
    first, second = make_worker(engine, channels, clock), make_worker(engine, channels, clock)

    sending = asyncio.create_task(first.deliver_due())
    await receiver.arrived.wait()
    clock.advance(minutes=4)
    assert await second.deliver_due() == 0
    receiver.hold.set()
    assert await sending == 1

    assert len(receiver.requests) == 1
    assert (await delivery(engine, delivery_id)).status == "sent"


async def test_deliveries_wait_for_a_worker_serving_their_channel(
    engine: AsyncEngine, clock: FrozenClock, http_client: httpx.AsyncClient
) -> None:
    delivery_id = await one_delivery(engine, clock, channel="email", address="a@bac-kan.vn")
    worker = make_worker(engine, webhooks(http_client, clock), clock)
    clock.advance(minutes=3)

    assert await worker.deliver_due() == 0
    await worker.observe_queue()

    assert (await delivery(engine, delivery_id)).status == "pending"
    assert sample(worker, "notifier_delivery_queue") == 1
    assert sample(worker, "notifier_delivery_oldest_age_seconds") == 180


class HeldChannel:
    """Holds every send until ``release`` is set (``all_held`` says when ``expected`` sends
    wait); fails the sends to the ``failing`` address."""

    def __init__(self, expected: int, failing: str) -> None:
        self.release = asyncio.Event()
        self.all_held = asyncio.Event()
        self._held = 0
        self._expected = expected
        self._failing = failing

    async def send(
        self, recipient: Recipient, message: Message, payload: Mapping[str, Any]
    ) -> None:
        self._held += 1
        if self._held == self._expected:
            self.all_held.set()
        await self.release.wait()
        if recipient.address == self._failing:
            raise TransientFailure("503 from the receiver")


async def test_deliveries_whose_sends_end_together_are_recorded_in_one_transaction(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    """A busy pass once held a connection per delivery to record its outcome, and the pool
    opened and closed connections beyond its size in every such pass."""
    decision = await add_decision(engine, clock)
    ids = [
        await add_delivery(
            engine, clock, decision, await add_subscription(engine, clock, address=f"http://{n}")
        )
        for n in range(5)
    ]
    channel = HeldChannel(len(ids), failing="http://3")
    worker = make_worker(engine, {"webhook": channel}, clock)
    transactions = 0

    def count(connection: object) -> None:
        nonlocal transactions
        transactions += 1

    sa.event.listen(engine.sync_engine, "begin", count)
    passing = asyncio.create_task(worker.deliver_due())
    await channel.all_held.wait()
    claimed = transactions
    channel.release.set()

    assert await passing == 5
    assert (claimed, transactions) == (1, 2)
    statuses = [(await delivery(engine, delivery_id)).status for delivery_id in ids]
    assert statuses == ["sent", "sent", "sent", "failed", "sent"]
    assert [len(await attempts(engine, delivery_id)) for delivery_id in ids] == [1] * 5
    assert sample(worker, "notifier_deliveries_total", channel="webhook", outcome="sent") == 4


# -- e-mail -----------------------------------------------------------------------------------


def smtp_channel(port: int, clock: FrozenClock, password: str = "mail-password") -> EmailChannel:
    config = SmtpConfig(
        host="127.0.0.1",
        port=port,
        from_address="thongbao@congdoan.vn",
        username="notifier",
        password=password,
        timeout_seconds=5.0,
    )
    return EmailChannel(config, clock)


async def test_an_email_with_plain_and_html_parts_reaches_a_real_smtp_server(
    engine: AsyncEngine, clock: FrozenClock, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    delivery_id = await one_delivery(
        engine, clock, channel="email", address="chu-tich@ldld.backan.gov.vn", secret=None
    )
    worker = make_worker(engine, {"email": smtp_channel(port, clock)}, clock)

    assert await worker.deliver_due() == 1

    assert (await delivery(engine, delivery_id)).status == "sent"
    assert mailbox.logins == [b"notifier"]
    (mail,) = mailbox.messages
    assert mail["Subject"] == "LĐLĐ tỉnh Bắc Kạn đạt 80 % chỉ tiêu Giai đoạn 1"
    assert mail["To"] == "chu-tich@ldld.backan.gov.vn"
    assert mail["From"] == "thongbao@congdoan.vn"
    plain = mail.get_body(preferencelist=("plain",))
    rich = mail.get_body(preferencelist=("html",))
    assert isinstance(plain, EmailMessage)
    assert isinstance(rich, EmailMessage)
    assert plain.get_content().startswith(
        "Đơn vị LĐLĐ tỉnh Bắc Kạn đã đạt 80 % chỉ tiêu Giai đoạn 1 (540/675).\n"
    )
    assert "<p>Đơn vị LĐLĐ tỉnh Bắc Kạn đã đạt 80 % chỉ tiêu" in rich.get_content()


async def test_a_refused_recipient_disables_the_email_subscription(
    engine: AsyncEngine, clock: FrozenClock, smtp_server: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp_server
    subscription = await add_subscription(
        engine, clock, channel="email", address="nobody@bac-kan.vn", secret=None
    )
    delivery_id = await add_delivery(engine, clock, await add_decision(engine, clock), subscription)
    worker = make_worker(engine, {"email": smtp_channel(port, clock)}, clock)

    assert await worker.deliver_due() == 1

    assert (await delivery(engine, delivery_id)).status == "dead"
    assert "550" in (await disabled_reason(engine, subscription) or "")
    assert mailbox.messages == []


async def test_a_rejected_login_is_retried_and_never_blames_the_subscription(
    engine: AsyncEngine, clock: FrozenClock, smtp_server: tuple[Mailbox, int]
) -> None:
    _, port = smtp_server
    delivery_id = await one_delivery(
        engine, clock, channel="email", address="chu-tich@bac-kan.vn", secret=None
    )
    worker = make_worker(engine, {"email": smtp_channel(port, clock, password="wrong")}, clock)

    assert await worker.deliver_due() == 1

    row = await delivery(engine, delivery_id)
    assert row.status == "failed"
    [(outcome, detail)] = await attempts(engine, delivery_id)
    assert outcome == "retry"
    assert detail.startswith("SMTP 535")
    assert await disabled_reason(engine, row.subscription_id) is None


# -- backoff ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts_so_far", "draw", "hint", "seconds"),
    [
        (1, 1.0, None, 5.0),
        (1, 0.0, None, 2.5),
        (4, 1.0, None, 40.0),
        (20, 1.0, None, 3600.0),
        (1, 1.0, 120.0, 120.0),
        (1, 1.0, 10_000.0, 3600.0),
    ],
)
def test_backoff_doubles_with_jitter_up_to_an_hour_and_honours_retry_after(
    attempts_so_far: int, draw: float, hint: float | None, seconds: float
) -> None:
    assert RetryPolicy().delay(attempts_so_far, draw, hint) == seconds
