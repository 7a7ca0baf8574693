"""Notifier configuration: environment variables prefixed ``INITIATIVES_NOTIFIER_``.

The rules' parameters have defaults for every campaign and may be overridden per campaign
(``INITIATIVES_NOTIFIER_CAMPAIGN_RULES='{"1trieu": {"thresholds": [0.3, 0.6, 1.0]}}'``).
Tokens are checked when the app is built (``shared.web.auth.TokenScopes``), like the query
API's, so a validation error never echoes a token pasted by mistake.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    model_validator,
)
from pydantic_settings import SettingsConfigDict

from services.notifier.rules import RuleConfig
from shared.config import DatabaseSettings, KafkaSettings
from shared.web.auth import ADMIN_SCOPE


def _distinct_ascending(thresholds: list[float]) -> list[float]:
    return sorted(set(thresholds))


Thresholds = Annotated[
    list[Annotated[float, Field(gt=0, le=10)]],
    Field(min_length=1),
    AfterValidator(_distinct_ascending),
]


class CampaignRules(BaseModel):
    """One campaign's overrides; what is left out keeps the notifier-wide default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    thresholds: Thresholds | None = None


class NotifierSettings(DatabaseSettings, KafkaSettings):
    model_config = SettingsConfigDict(env_prefix="INITIATIVES_NOTIFIER_", extra="ignore")

    changes_topic: str = "progress.changes.v1"
    consumer_group: str = "initiatives-notifier"
    batch_size: int = Field(default=500, ge=1, le=10_000)
    batch_timeout_ms: int = Field(default=200, ge=1)
    outbox_interval_seconds: float = Field(
        default=0.5, gt=0, description="Embedded mode: how often progress_outbox is polled"
    )

    thresholds: Thresholds = Field(
        default=[0.5, 0.8, 1.0], description="Shares of the target that are notified once"
    )
    outcome_grace_seconds: float = Field(
        default=900,
        ge=0,
        description="How long after a deadline its outcome waits for late portal deliveries",
    )
    quiet_seconds: float = Field(
        default=30.0,
        gt=0,
        description="An input that heard no change this long counts as caught up: outcomes "
        "are judged only on figures that are current",
    )
    campaign_rules: dict[str, CampaignRules] = Field(
        default_factory=dict, description="Campaign id → its own thresholds"
    )

    clock_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often deadlines, pace and digests are checked"
    )
    digest_hour: int = Field(
        default=8, ge=0, le=23, description="Local hour (Asia/Ho_Chi_Minh) of the daily digests"
    )

    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhook_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=list,
        description='Networks of in-house webhook receivers (e.g. ["10.20.0.0/16"]); any '
        "other loopback, private, link-local, multicast or reserved target is refused",
    )
    delivery_lease_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How long a claimed delivery is reserved for its worker; a worker that "
        "dies mid-send leaves it to others after this long",
    )
    smtp_host: str | None = Field(
        default=None, description="The SMTP relay; without it e-mail deliveries wait, unsent"
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = Field(
        default="thongbao@localhost", description="The From address of every e-mail"
    )

    http_host: str = "127.0.0.1"
    http_port: int = 8003
    tokens: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "'sha256:<hex>' of an access token → its scope: the unit id whose subtree it may "
            f"manage, or {ADMIN_SCOPE!r} for every unit (never the token itself)"
        ),
    )
    page_size: int = Field(default=100, ge=1, le=1000, description="Notifications per page")
    max_body_bytes: int = Field(
        default=64 * 1024, ge=1024, le=16 * 1024 * 1024, description="Larger bodies get 413"
    )

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> NotifierSettings:
        if self.delivery_lease_seconds <= self.webhook_timeout_seconds:
            raise ValueError(
                "delivery_lease_seconds must exceed webhook_timeout_seconds, or a slow send "
                "could be claimed and sent again by another worker"
            )
        return self

    def rules_for(self, campaign_id: str) -> RuleConfig:
        """The rules' parameters for one campaign: its overrides over the defaults."""
        own = self.campaign_rules.get(campaign_id)
        return RuleConfig(
            thresholds=tuple((own and own.thresholds) or self.thresholds),
            outcome_grace=dt.timedelta(seconds=self.outcome_grace_seconds),
        )
