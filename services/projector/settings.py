"""Projector configuration: environment variables prefixed ``INITIATIVES_PROJECTOR_``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.config import DatabaseSettings, KafkaSettings


class ProjectorSettings(DatabaseSettings, KafkaSettings):
    model_config = SettingsConfigDict(env_prefix="INITIATIVES_PROJECTOR_", extra="ignore")

    events_topic: str = "initiatives.events.v1"
    changes_topic: str = "progress.changes.v1"
    consumer_group: str = "initiatives-projector"
    batch_size: int = Field(default=2000, ge=1, le=20_000)
    batch_timeout_ms: int = Field(default=200, ge=1)
    tail_interval_seconds: float = Field(
        default=0.5, gt=0, description="Embedded mode: how often the event store is polled"
    )
    relay_idle_seconds: float = Field(default=0.1, gt=0)
    http_host: str = "127.0.0.1"
    http_port: int = 8002
