"""E-mail over SMTP: one multipart message, plain text with an HTML alternative.

Only a recipient the server refuses for good (5xx to RCPT) is a permanent failure: that is
the subscription's fault. Every other SMTP or network error is the server's or ours
(credentials, a full queue, a timeout), so it is retried and never disables a subscription.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib

from services.notifier.channels.base import PermanentFailure, Recipient, TransientFailure
from services.notifier.messages import Message
from shared.clock import Clock, utc_now

ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")


@dataclass(frozen=True)
class SmtpConfig:
    """The relay to send through; ``starttls`` upgrades a plain connection before login."""

    host: str
    port: int
    from_address: str
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 30.0


class EmailChannel:
    def __init__(self, config: SmtpConfig, clock: Clock = utc_now) -> None:
        self._config = config
        self._clock = clock

    async def send(
        self, recipient: Recipient, message: Message, payload: Mapping[str, Any]
    ) -> None:
        if not ADDRESS.fullmatch(recipient.address):
            raise PermanentFailure(f"invalid e-mail address {recipient.address!r}")
        config = self._config
        try:
            await aiosmtplib.send(
                self._compose(recipient, message, payload),
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                start_tls=config.starttls,
                timeout=config.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as error:
            detail = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
            if all(refusal.code >= 500 for refusal in error.recipients):
                raise PermanentFailure(f"recipient refused: {detail}") from error
            raise TransientFailure(f"recipient deferred: {detail}") from error
        except aiosmtplib.SMTPResponseException as error:
            raise TransientFailure(f"SMTP {error.code}: {error.message}") from error
        except (aiosmtplib.SMTPException, OSError) as error:
            raise TransientFailure(f"{type(error).__name__}: {error}") from error

    def _compose(
        self, recipient: Recipient, message: Message, payload: Mapping[str, Any]
    ) -> EmailMessage:
        """The e-mail; its Message-ID is fixed per (decision, subscription) so a rare resend
        after a crash can be recognised as the same message."""
        mail = EmailMessage()
        domain = self._config.from_address.rpartition("@")[2] or "localhost"
        mail["Subject"] = message.subject
        mail["From"] = self._config.from_address
        mail["To"] = recipient.address
        mail["Date"] = format_datetime(self._clock())
        mail["Message-ID"] = f"<decision-{payload['decision_id']}.{recipient.id}@{domain}>"
        mail["Auto-Submitted"] = "auto-generated"
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        return mail
