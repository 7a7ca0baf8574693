"""What every channel promises: send once, or say whether trying again can help.

The distinction drives the delivery worker: a transient failure (timeout, 5xx, connection
refused) is retried with backoff; a permanent one (the address is wrong, the receiver
refuses for good) ends the delivery at once and disables the subscription, so a dead
endpoint is reported to operators instead of being retried forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from services.notifier.messages import Message


@dataclass(frozen=True)
class Recipient:
    """Where and how one official receives notifications."""

    id: int
    official: str
    channel: str
    address: str
    secret: str | None
    language: str


class DeliveryFailure(Exception):
    """Sending did not succeed; the message says why, for the attempts log."""


class PermanentFailure(DeliveryFailure):
    """Trying again cannot help: the address is invalid or the receiver refuses for good."""


class TransientFailure(DeliveryFailure):
    """Worth another try later; ``retry_after`` is the receiver's own hint, in seconds."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Channel(Protocol):
    async def send(
        self, recipient: Recipient, message: Message, payload: Mapping[str, Any]
    ) -> None:
        """Deliver or raise :class:`PermanentFailure` / :class:`TransientFailure`."""
        ...
