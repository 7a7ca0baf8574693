"""Ingest's configuration: environment variables prefixed ``INITIATIVES_INGEST_``.

``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` keep their conventional names (see
``shared.config``); without Kafka, ingest runs on the embedded in-process default.
"""

from __future__ import annotations

from pydantic import AwareDatetime, Field
from pydantic_settings import SettingsConfigDict

from services.ingest.plausibility import CLOCK_SKEW
from shared.config import DatabaseSettings, KafkaSettings
from shared.contracts.base import EARLIEST_INSTANT
from shared.contracts.portal import MAX_EVENT_BYTES


class IngestSettings(DatabaseSettings, KafkaSettings):
    model_config = SettingsConfigDict(env_prefix="INITIATIVES_INGEST_", extra="ignore")

    input_topic: str = "portal.submissions.v1"
    dead_letter_topic: str = Field(
        default="", description="Defaults to the input topic with '.dlq' appended"
    )
    events_topic: str = "initiatives.events.v1"
    consumer_group: str = "initiatives-ingest"
    batch_size: int = Field(default=1000, ge=1, le=10_000)
    batch_timeout_ms: int = Field(default=200, ge=1)

    max_event_bytes: int = Field(
        default=MAX_EVENT_BYTES,
        ge=1024,
        le=900 * 1024,
        description="Larger events are rejected; the bound keeps a recorded event under "
        "Kafka's default message size (1 MiB), or the relay could never publish it",
    )
    earliest_occurred_at: AwareDatetime = Field(
        default=EARLIEST_INSTANT, description="Facts said to have happened before this are refused"
    )
    clock_skew_seconds: float = Field(
        default=CLOCK_SKEW.total_seconds(),
        ge=0,
        le=86_400,
        description="How far ahead of ingest's clock a fact's occurred_at may be",
    )
    park_hold_seconds: float = Field(default=600.0, gt=0)
    park_retry_interval_seconds: float = Field(default=5.0, gt=0)

    relay_batch_size: int = Field(default=1000, ge=1)
    relay_idle_seconds: float = Field(default=0.05, gt=0)

    http_host: str = "127.0.0.1"
    http_port: int = 8001
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_events_per_request: int = Field(default=10_000, ge=1, le=1_000_000)
    api_keys: dict[str, str] = Field(
        default_factory=dict,
        description="Portal name → 'sha256:<hex>' of its API key (never the key itself)",
    )

    @property
    def dead_letters(self) -> str:
        return self.dead_letter_topic or f"{self.input_topic}.dlq"
