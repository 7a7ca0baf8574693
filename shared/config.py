"""Settings every service reads, with one rule for database URLs.

Operators and tests pass the conventional ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS``;
each service also accepts its own prefixed variables (``INITIATIVES_...``) which win when set.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SQLITE_PATH = Path("var") / "initiatives.db"


def async_database_url(url: str) -> str:
    """Map a plain ``postgresql://`` or ``sqlite://`` URL to its async SQLAlchemy driver."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url.removeprefix(plain)
    return url


class DatabaseSettings(BaseSettings):
    """Where the event store and read models live; the embedded default is a SQLite file."""

    model_config = SettingsConfigDict(
        env_prefix="INITIATIVES_", extra="ignore", populate_by_name=True
    )

    database_url: str = Field(
        default=f"sqlite+aiosqlite:///{DEFAULT_SQLITE_PATH}",
        validation_alias=AliasChoices("INITIATIVES_DATABASE_URL", "DATABASE_URL"),
    )

    @field_validator("database_url")
    @classmethod
    def _use_async_driver(cls, value: str) -> str:
        return async_database_url(value)


class KafkaSettings(BaseSettings):
    """The Kafka cluster; unset means the embedded in-process transport."""

    model_config = SettingsConfigDict(
        env_prefix="INITIATIVES_", extra="ignore", populate_by_name=True
    )

    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "INITIATIVES_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS"
        ),
    )
