"""The progress outbox is claimed: on PostgreSQL two relays draining it at once publish every
change once and each unit's changes in outbox order; a failed delivery leaves the claimed
changes for the next claim; each change goes out with its row id as ``sequence``."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.changes_relay import Change, ChangesRelay
from services.projector.metrics import ProjectorMetrics
from shared.contracts.progress import ProgressChanged
from shared.persistence.engine import create_engine
from shared.persistence.progress_outbox import backlog, claim, progress_outbox
from tests.unit.notifier import change

UNITS = 20
CHANGES = 500


class RecordingSink:
    """Publishes after a short random wait, as a broker acknowledges, into one shared log."""

    def __init__(self, log: list[ProgressChanged], *, fail: bool = False) -> None:
        self._log = log
        self._fail = fail
        self.batches = 0

    async def deliver(self, changes: Sequence[Change]) -> None:
        await asyncio.sleep(random.uniform(0, 0.005))
        if self._fail:
            raise ConnectionError("broker unreachable")
        self._log.extend(ProgressChanged.model_validate(change) for change in changes)
        self.batches += 1


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def fill(engine: AsyncEngine, count: int) -> list[int]:
    """``count`` changes over ``UNITS`` units, interleaved; their row ids."""
    async with engine.begin() as connection:
        rows = await connection.execute(
            progress_outbox.insert().returning(progress_outbox.c.id),
            [
                {
                    "unit_id": f"u{n % UNITS}",
                    "payload": change(f"u{n % UNITS}", n).model_dump(mode="json"),
                    "created_at": dt.datetime.now(dt.UTC),
                }
                for n in range(count)
            ],
        )
        return sorted(row_id for (row_id,) in rows)


async def drain(relay: ChangesRelay, engine: AsyncEngine) -> None:
    while await backlog(engine):
        if not await relay.relay_once():
            await asyncio.sleep(0.001)  # the rest is held by the other relay


@pytest.mark.integration
async def test_two_relays_publish_every_change_once_and_each_units_in_outbox_order(
    postgres_url: str,
) -> None:
    engines = [create_engine(postgres_url) for _ in range(2)]
    try:
        ids = await fill(engines[0], CHANGES)
        published: list[ProgressChanged] = []
        sinks = [RecordingSink(published) for _ in engines]
        relays = [
            ChangesRelay(engine, sink, ProjectorMetrics(), batch_size=25)
            for engine, sink in zip(engines, sinks, strict=True)
        ]

        await asyncio.gather(*map(drain, relays, engines))

        sequences = [c.sequence for c in published]
        assert sorted(Counter(sequences).items()) == [(row_id, 1) for row_id in ids]
        by_unit: defaultdict[str, list[int]] = defaultdict(list)
        for c in published:
            by_unit[c.unit_id].append(c.sequence or 0)
        assert len(by_unit) == UNITS
        assert all(seen == sorted(seen) for seen in by_unit.values()), by_unit
        assert all(sink.batches for sink in sinks), "both relays took part"
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_failed_delivery_leaves_the_claimed_changes_for_the_next_claim(
    engine: AsyncEngine,
) -> None:
    ids = await fill(engine, 30)
    published: list[ProgressChanged] = []
    failing = ChangesRelay(engine, RecordingSink(published, fail=True), ProjectorMetrics())

    with pytest.raises(ConnectionError):
        await failing.relay_once()

    assert await backlog(engine) == 30
    metrics = ProjectorMetrics()
    relay = ChangesRelay(engine, RecordingSink(published), metrics, batch_size=20)
    assert await relay.relay_once() == 20
    assert metrics.registry.get_sample_value("projector_progress_outbox_backlog") == 30
    assert await relay.relay_once() == 10
    assert await relay.relay_once() == 0
    assert [c.sequence for c in published] == ids
    assert [c.after.value for c in published] == list(range(30))
    assert await backlog(engine) == 0


async def test_a_claim_ended_by_an_exception_deletes_nothing(engine: AsyncEngine) -> None:
    ids = await fill(engine, 3)
    claimed: list[int] = []

    async def fail_while_claimed() -> None:
        async with claim(engine, 10) as waiting:
            claimed.extend(row_id for row_id, _ in waiting.rows)
            raise RuntimeError("judging failed")

    with pytest.raises(RuntimeError):
        await fail_while_claimed()

    assert claimed == ids

    async with claim(engine, 10) as waiting:
        assert [payload["sequence"] for _, payload in waiting.rows] == ids
    async with engine.connect() as connection:
        assert await connection.scalar(sa.select(sa.func.count()).select_from(progress_outbox)) == 0


async def test_a_drained_outbox_never_hands_out_a_sequence_again(engine: AsyncEngine) -> None:
    """The notifier keeps the copy with the highest sequence: an id reused after the outbox
    emptied (SQLite's default) would make every later change look stale."""
    first = await fill(engine, 3)
    async with claim(engine, 10):
        pass

    again = await fill(engine, 1)

    assert again[0] > max(first)
