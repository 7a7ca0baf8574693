"""The event-store contract: every adapter appends, dedupes, orders and relays identically."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json

import polars as pl
import pytest

from shared.contracts.base import REFERENCE_STREAM
from shared.contracts.initiatives import InitiativeRejected
from shared.contracts.recorded import EventMetadata, NewEvent, RecordedEvent, StoredFact
from shared.contracts.registry import EventRegistry
from shared.eventstore.frames import FACTS
from shared.eventstore.port import ConcurrencyConflict, EventStore
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from tests.conftest import FrozenClock

OCCURRED = dt.datetime(2022, 5, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))


def event(stream: str, event_id: str, **data: object) -> NewEvent:
    return NewEvent(
        stream_id=stream,
        event_id=event_id,
        type="initiative.approved",
        schema_version=1,
        occurred_at=OCCURRED,
        data={"initiative_id": stream.removeprefix("initiative-"), **data},
        metadata=EventMetadata(source="test-portal", correlation_id=f"c-{event_id}"),
    )


async def test_append_numbers_each_stream_and_reads_it_back_in_order(store: EventStore) -> None:
    outcomes = await store.append(
        [event("initiative-a", "e1"), event("initiative-b", "e2"), event("initiative-a", "e3")]
    )

    assert [(o.stream_id, o.stream_version, o.duplicate) for o in outcomes] == [
        ("initiative-a", 1, False),
        ("initiative-b", 1, False),
        ("initiative-a", 2, False),
    ]
    positions = [o.position for o in outcomes]
    assert positions == sorted(positions)
    stream = await store.read_stream("initiative-a")
    assert [(r.event_id, r.stream_version) for r in stream] == [("e1", 1), ("e3", 2)]
    assert stream[0].occurred_at == OCCURRED
    assert stream[0].occurred_at.utcoffset() is not None
    assert stream[0].metadata == EventMetadata(source="test-portal", correlation_id="c-e1")
    assert stream[0].data == {"initiative_id": "a"}
    assert [r.event_id for r in await store.read_stream("initiative-a", after_version=1)] == ["e3"]


async def test_an_event_id_seen_before_is_a_duplicate_and_changes_nothing(
    store: EventStore,
) -> None:
    await store.append([event("initiative-a", "e1")])

    outcomes = await store.append(
        [event("initiative-a", "e1"), event("initiative-a", "e2"), event("initiative-a", "e2")]
    )

    assert [(o.event_id, o.duplicate, o.stream_version) for o in outcomes] == [
        ("e1", True, None),
        ("e2", False, 2),
        ("e2", True, None),
    ]
    assert [r.event_id for r in await store.read_stream("initiative-a")] == ["e1", "e2"]
    assert await store.known_event_ids(["e1", "e2", "e9"]) == {"e1", "e2"}


async def test_a_stale_expected_version_fails_the_whole_batch(store: EventStore) -> None:
    await store.append([event("initiative-a", "e1")], expected_versions={"initiative-a": 0})

    with pytest.raises(ConcurrencyConflict) as raised:
        await store.append(
            [event("initiative-b", "e2"), event("initiative-a", "e3")],
            expected_versions={"initiative-a": 0, "initiative-b": 0},
        )

    assert raised.value.stream_ids == {"initiative-a"}
    assert str(raised.value).endswith("initiative-a is at 1, expected 0")
    assert await store.read_stream("initiative-b") == []
    assert await store.last_position() == 1


async def test_read_all_streams_every_event_after_a_position_in_order(store: EventStore) -> None:
    for chunk in range(5):
        await store.append([event(f"initiative-{chunk}-{i}", f"e{chunk}-{i}") for i in range(7)])

    everything = [r async for r in store.read_all(batch_size=4)]
    tail = [r async for r in store.read_all(after=everything[29].position, batch_size=4)]

    assert len(everything) == 35
    assert [r.position for r in everything] == sorted({r.position for r in everything})
    assert [r.event_id for r in tail] == [r.event_id for r in everything[30:]]


async def test_the_sql_store_reads_payloads_after_a_position_as_read_all_does(
    sql_store: SqlEventStore,
) -> None:
    store = sql_store
    for chunk in range(3):
        await store.append([event(f"initiative-{chunk}-{i}", f"e{chunk}-{i}") for i in range(7)])
    everything = [r async for r in store.read_all()]

    facts = await store.read_facts(after=everything[4].position, limit=10)

    assert [
        (f.position, f.stream_id, f.stream_version, f.type, f.occurred_at, f.fact()) for f in facts
    ] == [
        (r.position, r.stream_id, r.stream_version, r.type, r.occurred_at, r.fact())
        for r in everything[5:15]
    ]
    assert [json.loads(f.data) for f in facts] == [r.data for r in everything[5:15]]


def facts_of(frame: pl.DataFrame) -> list[StoredFact]:
    return [
        StoredFact(position, stream_id, version, kind, schema, at.astimezone(dt.UTC), data)
        for position, stream_id, version, kind, schema, at, data in frame.iter_rows()
    ]


async def test_the_sql_store_reads_whole_histories_in_stream_order_as_stored(
    sql_store: SqlEventStore,
) -> None:
    """What the rebuild's columnar fold reads: every stream whole, never cut by the limit,
    the reference stream left out, nothing after ``until``; the values exactly as stored
    (instants to the microsecond, payload text with any character), as ``read_facts``
    gives them, and as ``read_history_facts`` gives the streams asked for."""
    store = sql_store
    awkward = 'a "quoted", comma\nnew line, tab\t, back\\slash, Việt Nam, ""'
    exact = OCCURRED.replace(microsecond=123456)
    history = [
        dataclasses.replace(event("initiative-b", "b1", reason=awkward), occurred_at=exact),
        event("initiative-a", "a1"),
        event("initiative-b", "b2"),
        event(REFERENCE_STREAM, "r1"),
        event("initiative-c", "c1"),
        event("initiative-a", "a2"),
    ]
    for one in history:
        await store.append([one])
    until = await store.last_position()
    await store.append([event("initiative-a", "a3"), event("initiative-d", "d1")])
    stored = {f.position: f for f in await store.read_facts(after=0, limit=100)}

    first = await store.read_histories("", until, 1)
    rest = await store.read_histories(first["stream_id"][-1], until, 1)
    done = await store.read_histories(rest["stream_id"][-1], until, 100)
    after_c = await store.read_histories("initiative-c", until, 100)

    assert first.schema == FACTS
    assert [(f.stream_id, f.stream_version) for f in facts_of(first)] == [
        ("initiative-a", 1),
        ("initiative-a", 2),
    ]
    assert [f.stream_id for f in facts_of(rest)] == ["initiative-b", "initiative-b"]
    assert facts_of(rest) == [stored[f.position] for f in facts_of(rest)]
    assert json.loads(facts_of(rest)[0].data)["reason"] == awkward
    assert facts_of(rest)[0].occurred_at == exact
    assert [f.stream_id for f in facts_of(done)] == ["initiative-c"]
    assert after_c.height == 0
    assert await store.read_history_facts({"initiative-b", "initiative-a"}, until) == [
        *facts_of(first),
        *facts_of(rest),
    ]


async def test_the_sql_store_wakes_its_relay_when_events_reached_the_outbox(
    sql_store: SqlEventStore,
) -> None:
    first = [event("initiative-w", "w1")]
    await sql_store.append(first)
    await asyncio.wait_for(sql_store.appended.pause(30), 5)

    await sql_store.append(first)
    duplicate_only = asyncio.create_task(sql_store.appended.pause(30))
    await asyncio.sleep(0.2)

    assert not duplicate_only.done(), "nothing new reached the outbox"
    duplicate_only.cancel()


async def test_the_outbox_holds_appended_events_until_marked_published(
    store: EventStore,
) -> None:
    outcomes = await store.append(
        [event("initiative-a", f"e{i}", note="sáng kiến") for i in range(5)]
    )

    backlog = await store.outbox_backlog()
    first = await store.outbox_batch(limit=3)
    await store.mark_published([r.position for r in first])
    rest = await store.outbox_batch(limit=10)

    assert backlog.size == 5
    assert backlog.oldest is not None
    assert [r.event_id for r in first] == ["e0", "e1", "e2"]
    stored = await store.read_stream("initiative-a")
    assert [RecordedEvent.from_wire(m.wire) for m in first] == stored[:3]
    assert {m.stream_id for m in first} == {"initiative-a"}
    assert [r.position for r in rest] == [o.position for o in outcomes[3:]]
    await store.mark_published([r.position for r in rest])
    assert (await store.outbox_backlog()).size == 0


async def test_the_outbox_of_another_sql_store_instance_is_read_from_the_database(
    database_url: str, clock: FrozenClock, sql_store: SqlEventStore
) -> None:
    store = sql_store
    await store.append([event(f"initiative-{i}", f"e{i}", note="sáng kiến") for i in range(4)])
    engine = create_engine(database_url)
    try:
        read_back = await SqlEventStore(engine, clock).outbox_batch(limit=10)
    finally:
        await engine.dispose()

    kept = await store.outbox_batch(limit=10)

    assert [(m.position, m.event_id, m.stream_id) for m in read_back] == [
        (m.position, m.event_id, m.stream_id) for m in kept
    ]
    expected = [r async for r in store.read_all()]
    assert [RecordedEvent.from_wire(m.wire) for m in read_back] == expected
    assert [RecordedEvent.from_wire(m.wire) for m in kept] == expected
    assert [m.wire for m in read_back] == [r.to_wire() for r in expected]


async def test_concurrent_appenders_lose_nothing_duplicate_nothing_and_detect_conflicts(
    store: EventStore,
) -> None:
    writers, appends_each = 4, 10
    conflicts = 0

    async def writer(name: str) -> None:
        nonlocal conflicts
        for n in range(appends_each):
            while True:
                version = len(await store.read_stream("initiative-hot"))
                try:
                    await store.append(
                        [
                            event("initiative-hot", f"{name}-{n}"),
                            event(f"initiative-{name}", f"{name}+{n}"),
                        ],
                        expected_versions={"initiative-hot": version},
                    )
                    break
                except ConcurrencyConflict:
                    conflicts += 1
                    await asyncio.sleep(0)

    await asyncio.gather(*(writer(f"w{i}") for i in range(writers)))

    hot = await store.read_stream("initiative-hot")
    assert [r.stream_version for r in hot] == list(range(1, writers * appends_each + 1))
    assert len({r.event_id for r in hot}) == writers * appends_each
    for i in range(writers):
        own = await store.read_stream(f"initiative-w{i}")
        assert [r.stream_version for r in own] == list(range(1, appends_each + 1))
    assert await store.last_position() >= 2 * writers * appends_each


class InitiativeRejectedV2(InitiativeRejected):
    """A hypothetical v2 that splits the free-text reason into a code and a note."""

    schema_version = 2

    reason_code: str


def rejected_v1_to_v2(data: dict[str, object]) -> dict[str, object]:
    return {**data, "reason_code": "unspecified"}


async def test_a_v1_payload_stored_earlier_still_loads_after_v2_is_introduced(
    store: EventStore,
) -> None:
    v1 = InitiativeRejected(initiative_id="a", reason="trùng lặp")
    await store.append(
        [
            NewEvent.from_fact(
                v1,
                event_id="e1",
                occurred_at=OCCURRED,
                metadata=EventMetadata(source="test-portal"),
            )
        ]
    )
    v2_registry = EventRegistry.of(
        [InitiativeRejectedV2], {("initiative.rejected", 1): rejected_v1_to_v2}
    )

    [stored] = await store.read_stream("initiative-a")
    loaded = stored.fact(v2_registry)
    read_by_a_rebuild = (
        [fact.fact(v2_registry) for fact in await store.read_facts(0, 10)]
        if isinstance(store, SqlEventStore)
        else [loaded]
    )

    assert stored.schema_version == 1
    assert loaded == InitiativeRejectedV2(
        initiative_id="a", reason="trùng lặp", reason_code="unspecified"
    )
    assert read_by_a_rebuild == [loaded]
