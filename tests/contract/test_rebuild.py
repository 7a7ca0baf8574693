"""A rebuild replays the event store into fresh tables and swaps them in: the result equals
what live projection built, even after the live tables were damaged or the rebuild was
interrupted and resumed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.ingest.pipeline import IngestPipeline
from services.projector import bulk_write
from services.projector.attribution import Attribution
from services.projector.bulk_write import AUTHOR_PLACES, LANES, Lane, OutdatedShadow
from services.projector.metrics import ProjectorMetrics
from services.projector.projection import Projection
from services.projector.read_models import PROGRESS, TABLES
from services.projector.rebuild import REBUILD_LOCK, SHADOW, RebuildRunning, rebuild
from services.projector.schema import rm_progress
from services.projector.tailer import StoreTailer
from services.samples import seed_cases
from services.samples.portal_events import (
    AUTHOR,
    CAMPAIGN,
    reviewed,
    unit_moved,
    unit_registered,
    updated,
)
from shared.contracts.recorded import EventMetadata, NewEvent
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from tests.read_models import dump

DECLARED_INDEXES = {index.name for table in TABLES for index in table.indexes}
"""The secondary indexes of the read models (the history pass drops some while it appends
and builds them at its end)."""


async def indexes(url: str) -> set[str]:
    """The secondary indexes the live read models have."""
    engine = create_engine(url)
    async with engine.connect() as connection:
        found = await connection.run_sync(
            lambda sync: {
                index["name"]
                for table in TABLES
                for index in sa.inspect(sync).get_indexes(table.name)
            }
        )
    await engine.dispose()
    return found


def awkward_details() -> dict[str, Any]:
    """Text the rebuild's ``COPY`` must carry as it is: quotes, commas, a backslash, an
    apostrophe and diacritics in a title and in an author's name."""
    return updated(
        "bk-12",
        "2022-05-20T09:00:00+07:00",
        title='Tiết kiệm "điện", nước \\ giấy; 50% ĐỒNG\'S',
        authors=[{"name": 'Lê "Ba", Đức\\', "author_type": "worker"}, AUTHOR],
    )


def stored_v1_submission() -> NewEvent:
    """A submission stored before its payload's version 2: its upcast is Python, so the
    rebuild's columnar fold leaves its stream to the per-event one. It names an author no
    other initiative names, whom the distinct-author counts must still find."""
    return NewEvent(
        stream_id="initiative-bk-v1",
        event_id="e-bk-v1",
        type="initiative.submitted",
        schema_version=1,
        occurred_at=dt.datetime(2022, 5, 12, 3, 0, tzinfo=dt.UTC),
        data={
            "initiative_id": "bk-v1",
            "campaign_id": CAMPAIGN,
            "unit_id": "bk-cdcs-1",
            "title": "Sáng kiến cũ",
            "category": "Năng suất",
            "authors": [{"name": "Trần Thị C", "author_type": "worker"}],
        },
        metadata=EventMetadata(source="backan-portal"),
    )


async def project_live(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    store = SqlEventStore(engine, outbox=False)
    events = seed_cases.hierarchy() + seed_cases.plans() + seed_cases.ba_che_submissions()
    events += seed_cases.bac_kan_submissions(before=40, after=5)
    events += [reviewed("initiative.approved", f"bk-{n}") for n in range(10)]
    events.append(awkward_details())
    events += [
        unit_registered("bk-cho-don", "bac-kan", "district"),
        unit_moved("bk-cdcs-5", "bk-cho-don"),
    ]
    await IngestPipeline(store).submit(events)
    await store.append([stored_v1_submission()])
    projection = Projection(engine, store)
    await projection.start()
    tailer = StoreTailer(
        engine, store, projection, ProjectorMetrics(), batch_size=37, interval_seconds=0
    )
    await tailer.catch_up()
    live = await dump(engine)
    async with engine.begin() as connection:
        await connection.execute(rm_progress.delete().where(rm_progress.c.unit_id == "bac-kan"))
    await engine.dispose()
    return live


async def test_a_rebuild_restores_exactly_what_live_projection_built(database_url: str) -> None:
    live = await project_live(database_url)

    report = await rebuild(database_url, batch_size=50)

    engine = create_engine(database_url)
    rebuilt = await dump(engine)
    async with engine.connect() as connection:  # the views, v_status over v_progress, survive
        judged = await connection.scalar(sa.text("SELECT count(status) FROM v_status"))
    await engine.dispose()
    assert report.events >= sum(1 for _ in live["rm_initiative_history"])
    assert rebuilt == live
    assert await indexes(database_url) >= DECLARED_INDEXES
    assert judged == len(live["rm_targets"])
    assert awkward_details()["data"]["title"] in {row[6] for row in live["rm_initiatives"]}


class Interrupted(Exception):
    pass


async def test_an_interrupted_rebuild_resumes_where_it_stopped(database_url: str) -> None:
    live = await project_live(database_url)
    seen: list[tuple[int, int]] = []

    def interrupt(done: int, total: int) -> None:
        seen.append((done, total))
        if len(seen) == 3:
            raise Interrupted

    with pytest.raises(Interrupted):
        await rebuild(database_url, batch_size=10, progress=interrupt)
    resumed: list[tuple[int, int]] = []
    await rebuild(
        database_url, batch_size=10, progress=lambda done, total: resumed.append((done, total))
    )

    engine = create_engine(database_url)
    rebuilt = await dump(engine)
    await engine.dispose()
    assert rebuilt == live
    assert await indexes(database_url) >= DECLARED_INDEXES
    applied = seen[-1][0]  # the third transaction committed before its progress was reported
    assert resumed[0][1] == seen[0][1] - applied, "the second run resumes after those applied"


@pytest.mark.integration
@pytest.mark.parametrize("failing", LANES, ids=lambda lane: lane.__name__)
async def test_a_close_that_fails_in_one_transaction_resumes_to_the_same_tables(
    postgres_url: str, failing: Lane, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The close adds up counts and counts authors in two transactions at once: whichever
    commits while the other fails, the resumed rebuild neither adds counts twice nor loses
    the distinct authors."""
    live = await project_live(postgres_url)

    async def fail(_connection: AsyncConnection, _attribution: Attribution) -> None:
        raise Interrupted

    lanes = tuple(fail if lane is failing else lane for lane in LANES)
    monkeypatch.setattr(bulk_write, "LANES", lanes)
    with pytest.raises(Interrupted):
        await rebuild(postgres_url, batch_size=10)
    left = await partial_tables(postgres_url)
    monkeypatch.undo()
    await rebuild(postgres_url, batch_size=10)

    engine = create_engine(postgres_url)
    rebuilt = await dump(engine)
    await engine.dispose()
    assert rebuilt == live
    assert (PROGRESS_PARTIAL in left) == (failing is bulk_write.LANES[0]), "one lane committed"
    assert AUTHOR_PLACES.name in left
    assert await indexes(postgres_url) >= DECLARED_INDEXES
    assert not await partial_tables(postgres_url)


PROGRESS_PARTIAL = f"{PROGRESS.table.name}_partial"


async def partial_tables(url: str) -> set[str]:
    """The partial tables the shadow schema holds."""
    engine = create_engine(url)
    async with engine.connect() as connection:
        names = await connection.run_sync(
            lambda sync: sa.inspect(sync).get_table_names(schema=SHADOW)
        )
    await engine.dispose()
    return {name for name in names if name.endswith("_partial")}


@pytest.mark.integration
async def test_a_second_rebuild_at_once_is_refused_and_one_after_runs(postgres_url: str) -> None:
    """Two rebuilds at once would write the same shadow tables: the second is refused with a
    message while the first holds the lock, and the lock is let go when a rebuild ends."""
    live = await project_live(postgres_url)
    engine = create_engine(postgres_url)
    async with engine.connect() as running:
        await running.scalar(sa.select(sa.func.pg_advisory_lock(REBUILD_LOCK)))
        with pytest.raises(RebuildRunning, match="another rebuild or verify is running"):
            await rebuild(postgres_url, batch_size=50)
        await running.scalar(sa.select(sa.func.pg_advisory_unlock(REBUILD_LOCK)))
    await engine.dispose()

    await rebuild(postgres_url, batch_size=50)
    await rebuild(postgres_url, batch_size=50)

    engine = create_engine(postgres_url)
    rebuilt = await dump(engine)
    await engine.dispose()
    assert rebuilt == live


@pytest.mark.integration
async def test_a_rebuild_an_earlier_version_began_is_not_resumed_into_partitions(
    postgres_url: str,
) -> None:
    """The author places were a plain table before they were partitioned: a pass begun then
    stops with what to do instead of PostgreSQL's error, and ``--restart`` starts over."""
    live = await project_live(postgres_url)

    def interrupt(done: int, total: int) -> None:
        raise Interrupted

    with pytest.raises(Interrupted):
        await rebuild(postgres_url, batch_size=10, progress=interrupt)
    engine = create_engine(postgres_url)
    async with engine.begin() as connection:
        places = f"{SHADOW}.{AUTHOR_PLACES.name}"
        await connection.execute(sa.text(f"ALTER TABLE {places} RENAME TO partitioned"))
        await connection.execute(sa.text(f"CREATE TABLE {places} AS TABLE {SHADOW}.partitioned"))
        await connection.execute(sa.text(f"DROP TABLE {SHADOW}.partitioned"))
    await engine.dispose()

    with pytest.raises(OutdatedShadow, match="--restart"):
        await rebuild(postgres_url, batch_size=10)
    await rebuild(postgres_url, batch_size=10, restart=True)

    engine = create_engine(postgres_url)
    rebuilt = await dump(engine)
    await engine.dispose()
    assert rebuilt == live
