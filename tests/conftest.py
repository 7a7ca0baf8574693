"""Fixtures every test layer shares; real-infrastructure fixtures live in tests.infrastructure."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from shared.persistence.engine import create_engine
from shared.persistence.migrations import upgrade

pytest_plugins = ["tests.infrastructure"]

UTC7 = dt.timezone(dt.timedelta(hours=7))


class FrozenClock:
    """A clock tests move by hand; the domain and adapters never read the real time."""

    def __init__(self, start: dt.datetime = dt.datetime(2022, 5, 12, 13, 30, tzinfo=UTC7)) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
async def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database file, private to the test."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'initiatives.db'}"
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    return url


@pytest.fixture
async def postgres_url(postgres_database_url: str) -> str:
    """A migrated PostgreSQL database on the real server, private to the test."""
    url = postgres_database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_engine(url)
    await upgrade(engine)
    await engine.dispose()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A migrated database of each kind in turn: the embedded SQLite and real PostgreSQL."""
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url
