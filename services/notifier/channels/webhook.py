"""Webhooks: the JSON body POSTed to the subscriber's URL, signed so it can be trusted.

``X-Signature: sha256=<hex>`` is HMAC-SHA256 with the subscription's secret over
``"<X-Timestamp>.<body>"``; because the timestamp is signed too, a receiver that refuses
old timestamps also refuses replayed requests (docs/notifications.md shows the check).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import httpx

from services.notifier.channels.base import PermanentFailure, Recipient, TransientFailure
from services.notifier.channels.targets import WebhookTargets
from services.notifier.messages import Message
from shared.clock import Clock, utc_now

RETRYABLE_STATUSES = frozenset({408, 429})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Signature`` value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class WebhookChannel:
    """POSTs with a client its owner configures (timeouts) and closes; redirects are refused,
    and so are targets no webhook may reach (``targets``)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        clock: Clock = utc_now,
        *,
        targets: WebhookTargets | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._targets = targets or WebhookTargets()

    async def send(
        self, recipient: Recipient, message: Message, payload: Mapping[str, Any]
    ) -> None:
        url = _checked_url(recipient.address)
        if not recipient.secret:
            raise PermanentFailure("the subscription has no secret to sign webhooks with")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = str(int(self._clock().timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Timestamp": timestamp,
            "X-Signature": sign(recipient.secret, timestamp, body),
        }
        address = await self._targets.pinned(url)
        headers["Host"] = url.netloc.decode("ascii")
        try:
            response = await self._client.post(
                url.copy_with(host=address),
                content=body,
                headers=headers,
                follow_redirects=False,
                extensions={"sni_hostname": url.host} if url.scheme == "https" else {},
            )
        except httpx.TimeoutException as error:
            raise TransientFailure(f"timed out: {type(error).__name__}") from error
        except httpx.TransportError as error:
            raise TransientFailure(f"{type(error).__name__}: {error}") from error
        _judge(response)


def _checked_url(address: str) -> httpx.URL:
    try:
        url = httpx.URL(address)
    except httpx.InvalidURL as error:
        raise PermanentFailure(f"invalid webhook URL: {error}") from error
    if url.scheme not in ("http", "https") or not url.host:
        raise PermanentFailure(f"invalid webhook URL {address!r}: needs http(s) and a host")
    return url


def _judge(response: httpx.Response) -> None:
    """2xx is delivered; 408, 429 and 5xx may pass later; any other answer never will. Only
    the status line is kept: the receiver's body is never echoed into the attempts log."""
    if response.is_success:
        return
    detail = f"HTTP {response.status_code} {response.reason_phrase}".strip()
    if response.status_code in RETRYABLE_STATUSES or response.status_code >= 500:
        raise TransientFailure(detail, _retry_after(response))
    raise PermanentFailure(detail)


def _retry_after(response: httpx.Response) -> float | None:
    """The receiver's ``Retry-After`` in seconds; its HTTP-date form is ignored."""
    try:
        return max(float(response.headers.get("Retry-After", "")), 0.0)
    except ValueError:
        return None
