"""Real receivers for notification tests: an HTTP endpoint that verifies webhook signatures
as docs/notifications.md tells receivers to, and an SMTP server (aiosmtpd), on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import http
import ipaddress
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from services.notifier.channels.targets import WebhookTargets


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class WebhookReceiver:
    """An HTTP server that checks signatures and timestamps the way docs/notifications.md
    tells receivers to, and answers with scripted statuses (200 once the script is used up)."""

    secret: str
    now: Callable[[], dt.datetime]
    statuses: deque[int] = field(default_factory=deque)
    hold: asyncio.Event | None = None
    delay_seconds: float = 0.0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[Received] = field(default_factory=list)
    url: str = ""

    def verify(self, headers: Mapping[str, str], body: bytes) -> bool:
        timestamp = headers.get("x-timestamp", "")
        if not timestamp.isdigit() or abs(self.now().timestamp() - int(timestamp)) > 300:
            return False
        mac = hmac.new(self.secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
        return hmac.compare_digest(headers.get("x-signature", ""), f"sha256={mac.hexdigest()}")

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        pairs = (line.split(":", 1) for line in head[1:] if line)
        headers = {name.strip().lower(): value.strip() for name, value in pairs}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        verified = self.verify(headers, body)
        self.requests.append(Received(headers, body, verified))
        self.arrived.set()
        if self.hold is not None:
            await self.hold.wait()
        await asyncio.sleep(self.delay_seconds)
        status = (self.statuses.popleft() if self.statuses else 200) if verified else 401
        reason = http.HTTPStatus(status).phrase
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(reason)}\r\n"
            f"Connection: close\r\n\r\n{reason}".encode()
        )
        await writer.drain()
        writer.close()


@contextlib.asynccontextmanager
async def serving(hook: WebhookReceiver) -> AsyncIterator[WebhookReceiver]:
    server = await asyncio.start_server(hook._handle, "127.0.0.1", 0)
    hook.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks/initiatives"
    async with server:
        yield hook


@dataclass
class Mailbox:
    """aiosmtpd handler: keeps what it accepts, refuses ``nobody@…`` for good."""

    messages: list[EmailMessage] = field(default_factory=list)
    logins: list[bytes] = field(default_factory=list)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append(data.login)
        return AuthResult(success=data.password == b"mail-password", handled=False)


@contextlib.asynccontextmanager
async def smtp_serving(mailbox: Mailbox, auth_required: bool = True) -> AsyncIterator[int]:
    """Serve ``mailbox`` over SMTP on a free port; yields the port."""
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(
            mailbox,
            hostname="mail.test",
            auth_required=auth_required,
            auth_require_tls=False,
            authenticator=mailbox.authenticate,
        ),
        "127.0.0.1",
        0,
    )
    async with server:
        yield server.sockets[0].getsockname()[1]


LOCAL_NETWORKS = ["127.0.0.0/8"]
"""The test receivers listen on loopback, which a deployment allows like an in-house receiver."""
LOCAL_RECEIVERS = WebhookTargets([ipaddress.ip_network(net) for net in LOCAL_NETWORKS])
