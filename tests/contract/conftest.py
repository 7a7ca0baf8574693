"""One event-store fixture, three adapters: every contract test runs on each of them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.eventstore.memory import InMemoryEventStore
from shared.eventstore.port import EventStore
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from tests.conftest import FrozenClock


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.integration),
    ]
)
def adapter_url(request: pytest.FixtureRequest) -> str | None:
    """The database behind the adapter under test (None for the in-memory one).

    A plain fixture, so that it may pull the async database fixtures by name.
    """
    if request.param == "memory":
        return None
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def sql_store(database_url: str, clock: FrozenClock) -> AsyncIterator[SqlEventStore]:
    """The SQL adapter alone, for what only it offers (on SQLite and real PostgreSQL)."""
    engine = create_engine(database_url)
    try:
        yield SqlEventStore(engine, clock)
    finally:
        await engine.dispose()


@pytest.fixture
async def store(adapter_url: str | None, clock: FrozenClock) -> AsyncIterator[EventStore]:
    if adapter_url is None:
        yield InMemoryEventStore(clock)
        return
    engine = create_engine(adapter_url)
    try:
        yield SqlEventStore(engine, clock)
    finally:
        await engine.dispose()
