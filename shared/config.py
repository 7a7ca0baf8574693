"""Settings every service reads, with one rule for database URLs.

Operators and tests pass the conventional ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS``;
each service also accepts its own prefixed variables (``INITIATIVES_...``) which win when set.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

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


class SettingsRefused(ValueError):
    """Settings that do not validate, one line per variable: the operator wrote
    ``INITIATIVES_API_TOKENS``, not pydantic's field ``tokens``. Never the value itself: it
    may be a secret pasted by mistake."""


def env_name(settings: type[BaseSettings], field: str) -> str:
    """The environment variable that sets ``field``: of the names it accepts, the one set."""
    alias = settings.model_fields[field].validation_alias
    if isinstance(alias, AliasChoices):
        names = [name for name in alias.choices if isinstance(name, str)]
    elif isinstance(alias, str):
        names = [alias]
    else:
        names = [f"{settings.model_config.get('env_prefix', '')}{field}".upper()]
    present = {name.upper() for name in os.environ}
    return next((name for name in names if name.upper() in present), names[0])


_UNPARSED_FIELD = re.compile(r'field "(\w+)"')


def _refusals(settings: type[BaseSettings], error: ValidationError | SettingsError) -> str:
    def named(where: object) -> str:
        """``where`` is a field's name, or the first of its aliases when it has several."""
        for field, info in settings.model_fields.items():
            alias = info.validation_alias
            if where == field or (isinstance(alias, AliasChoices) and where in alias.choices):
                return env_name(settings, field)
        return str(where)

    if isinstance(error, SettingsError):
        field = _UNPARSED_FIELD.search(str(error))
        cause = error.__cause__ or error
        return f"{named(field[1] if field else '?')} is not valid JSON: {cause}"
    lines = {
        named(problem["loc"][0] if problem["loc"] else "?"): problem["msg"].removeprefix(
            "Value error, "
        )
        for problem in error.errors(include_input=False, include_url=False)
    }
    return "\n".join(f"{name} is not valid: {message}" for name, message in lines.items())


class Settings(BaseSettings):
    """Settings from the environment that, when a value does not validate, say which
    variable to fix (:class:`SettingsRefused`)."""

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except (ValidationError, SettingsError) as error:
            raise SettingsRefused(_refusals(type(self), error)) from error


class DatabaseSettings(Settings):
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


class KafkaSettings(Settings):
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

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _brokers_with_ports(cls, value: str | None) -> str | None:
        """A port no broker can listen on is refused now, not waited for by a service."""
        for broker in (value or "").split(","):
            _host, colon, port = broker.strip().rpartition(":")
            if colon and "]" not in port and not (port.isdigit() and 0 < int(port) < 65536):
                raise ValueError(f"{broker.strip()!r} is not host:port (a port is 1–65535)")
        return value
