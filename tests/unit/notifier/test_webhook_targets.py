"""A webhook never reaches the deployment's own network unless an operator allows it: every
address a name resolves to is checked, the connection goes to the address checked, and the
receiver's answer is never echoed beyond its status line."""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from services.notifier.channels.base import PermanentFailure, Recipient, TransientFailure
from services.notifier.channels.targets import WebhookTargets
from services.notifier.channels.webhook import WebhookChannel
from services.notifier.messages import Message
from tests.conftest import FrozenClock
from tests.receivers import LOCAL_RECEIVERS, WebhookReceiver, serving

SECRET = "hook-secret"
MESSAGE = Message(subject="s", text="t", html="<p>t</p>")


def recipient(address: str) -> Recipient:
    return Recipient(1, "official", "webhook", address, SECRET, "vi")


def resolving_to(*addresses: str) -> WebhookTargets:
    async def resolver(host: str, port: int) -> list[str]:
        return list(addresses)

    return WebhookTargets(resolver=resolver)


@pytest.fixture
async def http_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=2) as client:
        yield client


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("http://127.0.0.1:8001/ingest/v1/events", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://10.0.0.5/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://localhost:5432/", "loopback"),
    ],
)
async def test_targets_inside_the_deployment_are_refused_for_good(
    http_client: httpx.AsyncClient, clock: FrozenClock, address: str, kind: str
) -> None:
    channel = WebhookChannel(http_client, clock)

    with pytest.raises(PermanentFailure, match=f"a {kind} address: refused"):
        await channel.send(recipient(address), MESSAGE, {})


async def test_a_public_name_that_also_resolves_inside_is_refused(
    http_client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    channel = WebhookChannel(http_client, clock, targets=resolving_to("93.184.216.34", "10.1.2.3"))

    with pytest.raises(PermanentFailure, match=re.escape("10.1.2.3, a private address")):
        await channel.send(recipient("https://hooks.example.vn/x"), MESSAGE, {})


async def test_a_name_that_does_not_resolve_is_tried_again_later(
    http_client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    async def failing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    channel = WebhookChannel(http_client, clock, targets=WebhookTargets(resolver=failing))

    with pytest.raises(TransientFailure, match=re.escape("cannot resolve hooks.example.vn")):
        await channel.send(recipient("https://hooks.example.vn/x"), MESSAGE, {})


async def test_an_allowed_network_is_reached_at_the_address_checked_with_the_name_as_host(
    http_client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    async with serving(WebhookReceiver(SECRET, clock)) as hook:
        url = httpx.URL(hook.url)

        async def resolver(host: str, port: int) -> list[str]:
            return ["127.0.0.1"]

        targets = WebhookTargets([ipaddress.ip_network("127.0.0.0/8")], resolver=resolver)
        channel = WebhookChannel(http_client, clock, targets=targets)
        named = url.copy_with(host="hooks.internal.vn")
        await channel.send(recipient(str(named)), MESSAGE, {"a": 1})

    assert hook.requests[0].verified
    assert hook.requests[0].headers["host"] == f"hooks.internal.vn:{url.port}"


async def test_the_receivers_answer_is_never_echoed_beyond_its_status_line(
    http_client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = b"postgres password: hunter2"
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    channel = WebhookChannel(http_client, clock, targets=LOCAL_RECEIVERS)
    async with server:
        with pytest.raises(PermanentFailure) as refused:
            await channel.send(recipient(f"http://127.0.0.1:{port}/"), MESSAGE, {})

    assert str(refused.value) == "HTTP 403 Forbidden"
