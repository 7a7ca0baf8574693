"""No stored event stops the projector: an event that cannot be applied is quarantined with
its stream's later events, every other stream flows on, a retry after the fix applies what
waited, and a rebuild quarantines the same events and builds the same tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.pipeline import IngestPipeline
from services.projector import fold as fold_module
from services.projector import quarantine
from services.projector.metrics import ProjectorMetrics
from services.projector.projection import Projection
from services.projector.rebuild import rebuild
from services.projector.schema import rm_initiatives, rm_units
from services.projector.tailer import StoreTailer
from services.samples.portal_events import reviewed, small_tree, submitted
from shared.contracts.base import REFERENCE_STREAM
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from tests.poison import POISON, stored
from tests.read_models import dump


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def fill(engine: AsyncEngine, tail: list[dict[str, Any]] | None = None) -> SqlEventStore:
    """The small tree, the poison, then valid submissions that must still be projected."""
    store = SqlEventStore(engine, outbox=False)
    await IngestPipeline(store).submit([*small_tree(), submitted("sk-ok-1", "bk-cdcs-1")])
    await store.append(POISON)
    await IngestPipeline(store).submit([submitted("sk-ok-2", "bk-cdcs-2"), *(tail or [])])
    return store


async def project(engine: AsyncEngine, store: SqlEventStore, batch_size: int) -> Projection:
    projection = Projection(engine, store)
    await projection.start()
    tailer = StoreTailer(
        engine, store, projection, ProjectorMetrics(), batch_size=batch_size, interval_seconds=0
    )
    await tailer.catch_up()
    return projection


async def projected(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set((await connection.scalars(sa.select(rm_initiatives.c.initiative_id))).all())


async def waiting(engine: AsyncEngine) -> dict[str, tuple[int, str, int]]:
    async with engine.connect() as connection:
        return {
            q.stream_id: (q.version, q.code, q.held) for q in await quarantine.listed(connection)
        }


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
async def test_events_that_cannot_be_applied_wait_while_every_other_stream_flows(
    engine: AsyncEngine, batch_size: int
) -> None:
    store = await fill(engine)

    await project(engine, store, batch_size)

    assert await projected(engine) == {"sk-ok-1", "sk-ok-2"}
    assert await waiting(engine) == {
        "initiative-sk-far": (1, "unapplicable", 1),
        "initiative-sk-bad": (1, "unapplicable", 0),
        "initiative-sk-v9": (1, "unapplicable", 0),
    }
    async with engine.connect() as connection:
        (far,) = await quarantine.listed(connection, ["initiative-sk-far"])
        assert far.reason.startswith("OverflowError")


async def test_later_events_of_a_quarantined_stream_are_held_and_counted(
    engine: AsyncEngine,
) -> None:
    store = await fill(engine)
    projection = await project(engine, store, 1000)

    await IngestPipeline(store).submit([submitted("sk-ok-3", "bk-cdcs-1")])
    await store.append(
        [stored("initiative-sk-far", "initiative.withdrawn", {"initiative_id": "sk-far"})]
    )
    tailer = StoreTailer(
        engine, store, projection, ProjectorMetrics(), batch_size=1000, interval_seconds=0
    )
    await tailer.catch_up()

    assert await projected(engine) == {"sk-ok-1", "sk-ok-2", "sk-ok-3"}
    assert (await waiting(engine))["initiative-sk-far"] == (1, "unapplicable", 2)


async def test_a_retry_after_the_fix_applies_what_waited(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    evolve = fold_module.evolve

    def broken_rule(row: Any, fact: Any, at: dt.datetime) -> Any:
        if getattr(fact, "initiative_id", "") == "sk-flaky":
            raise ValueError("a rule that cannot read this initiative yet")
        return evolve(row, fact, at)

    monkeypatch.setattr(fold_module, "evolve", broken_rule)
    store = await fill(
        engine, [submitted("sk-flaky", "bk-cdcs-1"), reviewed("initiative.approved", "sk-flaky")]
    )
    projection = await project(engine, store, 1000)
    assert (await waiting(engine))["initiative-sk-flaky"] == (1, "unapplicable", 1)

    monkeypatch.setattr(fold_module, "evolve", evolve)
    outcome = await projection.retry("initiative-sk-flaky")

    assert outcome is not None
    assert (outcome.applied, outcome.quarantined) == (2, [])
    assert "initiative-sk-flaky" not in await waiting(engine)
    async with engine.connect() as connection:
        status = await connection.scalar(
            sa.select(rm_initiatives.c.status).where(rm_initiatives.c.initiative_id == "sk-flaky")
        )
    assert status == "approved"
    assert await projection.retry("initiative-sk-flaky") is None


@pytest.mark.parametrize("batch_size", [2, 1000])
async def test_a_reference_fact_that_cannot_be_applied_stops_the_reference_stream_only(
    engine: AsyncEngine, batch_size: int
) -> None:
    store = await fill(engine)
    await store.append(
        [
            stored(REFERENCE_STREAM, "unit.moved", {"unit_id": "nowhere", "new_parent_id": "bk"}),
            stored(
                REFERENCE_STREAM,
                "unit.registered",
                {"unit_id": "bk-late", "name": "Late", "parent_id": "bk", "level": "grassroots"},
            ),
        ]
    )
    await IngestPipeline(store).submit([submitted("sk-ok-3", "bk-cdcs-1")])

    await project(engine, store, batch_size)

    assert await projected(engine) == {"sk-ok-1", "sk-ok-2", "sk-ok-3"}
    assert (await waiting(engine))[REFERENCE_STREAM][:2] == (7, "unapplicable")
    async with engine.connect() as connection:
        units = set((await connection.scalars(sa.select(rm_units.c.unit_id))).all())
    assert "bk-late" not in units
    assert "bk-cdcs-1" in units


async def test_a_rebuild_quarantines_the_same_events_and_builds_the_same_tables(
    engine: AsyncEngine, database_url: str
) -> None:
    store = await fill(engine)
    await project(engine, store, 2)
    live = await dump(engine)

    await rebuild(database_url, batch_size=3)

    rebuilt = await dump(engine)
    assert rebuilt["rm_quarantine"] == live["rm_quarantine"]
    assert rebuilt == live
    assert set(await waiting(engine)) == {
        "initiative-sk-far",
        "initiative-sk-bad",
        "initiative-sk-v9",
    }
