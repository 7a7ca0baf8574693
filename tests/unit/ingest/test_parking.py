"""Parked facts are retried fairly, released once they fit, and dead-lettered when they expire."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest

from services.ingest.intake import Incoming, Intake
from services.ingest.metrics import IngestMetrics
from services.ingest.parking import ParkingLot
from services.ingest.pipeline import IngestPipeline
from services.samples.portal_events import reviewed, small_tree, submitted
from shared.dead_letters import Origin, SqlDeadLetters
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from tests.conftest import FrozenClock


def incoming(*events: dict[str, object]) -> list[Incoming]:
    return [
        Incoming(json.dumps(e).encode(), Origin("kafka", "portal", 0, n))
        for n, e in enumerate(events)
    ]


async def test_facts_that_stay_refused_do_not_starve_the_others_and_expire_to_dead_letters(
    sqlite_url: str, clock: FrozenClock
) -> None:
    engine = create_engine(sqlite_url)
    store = SqlEventStore(engine, clock, outbox=False)
    lot = ParkingLot(engine, dt.timedelta(minutes=10), clock)
    dead = SqlDeadLetters(engine, clock)
    intake = Intake(IngestPipeline(store), lot, dead, IngestMetrics(), clock, retry_batch=2)
    await intake.receive(incoming(*small_tree()), dead_letter_rejections=True)
    never = [reviewed("initiative.approved", f"ghost-{n}") for n in range(2)]
    late = reviewed("initiative.approved", "sk-1")
    await intake.receive(incoming(*never), dead_letter_rejections=True)
    clock.advance(seconds=1)
    await intake.receive(incoming(late), dead_letter_rejections=True)
    await intake.receive(incoming(submitted("sk-1", "bk-cdcs-1")), dead_letter_rejections=True)

    clock.advance(seconds=1)
    first = await intake.retry_parked()
    clock.advance(seconds=1)
    second = await intake.retry_parked()
    clock.advance(minutes=11)
    expiry = await intake.retry_parked()
    letters = await dead.recent()
    remaining = await lot.summary()
    await engine.dispose()

    assert (first.released, first.still_parked) == (0, 2)
    assert (second.released, second.still_parked) == (1, 1)
    assert dict(expiry.dead_lettered) == {"unknown_initiative": 2}
    assert remaining.size == 0
    assert [letter.code for letter, _ in letters] == ["unknown_initiative"] * 2
    assert all(letter.message.startswith("still waiting after") for letter, _ in letters)
    assert {letter.origin.channel for letter, _ in letters} == {"kafka"}


async def test_each_refused_event_is_logged_with_its_event_id_and_correlation_id(
    sqlite_url: str, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(sqlite_url)
    store = SqlEventStore(engine, clock, outbox=False)
    lot = ParkingLot(engine, dt.timedelta(minutes=10), clock)
    intake = Intake(
        IngestPipeline(store), lot, SqlDeadLetters(engine, clock), IngestMetrics(), clock
    )
    late = {**reviewed("initiative.approved", "sk-404"), "correlation_id": "batch-17"}

    with caplog.at_level(logging.INFO, logger="services.ingest.intake"):
        await intake.receive(incoming(late), dead_letter_rejections=True)
    await engine.dispose()

    [record] = [r for r in caplog.records if r.getMessage() == "portal event parked"]
    assert (record.event_id, record.correlation_id, record.code) == (
        late["event_id"],
        "batch-17",
        "unknown_initiative",
    )
    assert record.origin == {"channel": "kafka", "topic": "portal", "partition": 0, "offset": 0}
