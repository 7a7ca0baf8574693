"""The national workload (``services.samples.national``) as the benchmarks feed it to the system:
written as NDJSON, produced to a portal topic, or appended straight into an event store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from aiokafka import AIOKafkaProducer

from services.samples.national import generate
from shared.config import async_database_url
from shared.contracts.portal import decode_portal_event
from shared.contracts.recorded import NewEvent
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine

Event = dict[str, Any]
LOAD_BATCH = 5000
REFERENCE_KEY = b"reference"


@dataclass(frozen=True)
class Workload:
    """The national set split as a portal would send it: reference data first, then the
    initiatives' facts, then the reorganisation after the campaign (moves and merges).

    The reorganisation is kept apart because on Kafka it travels under the reference key,
    on another partition than the initiatives: sent with them, a merge could overtake the
    last facts filed under the merged unit, which ingest then rightly refuses.
    """

    reference: list[Event]
    activity: list[Event]
    """Only facts about initiatives: what the projector counts as applied."""
    reorganisation: list[Event]

    @classmethod
    def at(cls, scale: float, seed: int = 2022) -> Workload:
        events = list(generate(scale, seed))
        facts = [n for n, event in enumerate(events) if "initiative_id" in event["data"]]
        first, last = facts[0], facts[-1] + 1
        return cls(events[:first], events[first:last], events[last:])

    @property
    def all(self) -> list[Event]:
        return self.reference + self.activity + self.reorganisation


def kafka_key(event: Event) -> bytes:
    """The initiative's id, so its facts keep their order; one key for all reference data."""
    initiative: str | None = event["data"].get("initiative_id")
    return initiative.encode() if initiative else REFERENCE_KEY


def encoded(event: Event) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def write_ndjson(events: Iterable[Event], output: IO[str]) -> Iterator[int]:
    """Write one event a line; yields the running count every 10,000 events (for a progress bar)."""
    count = 0
    for count, event in enumerate(events, start=1):
        output.write(json.dumps(event, ensure_ascii=False))
        output.write("\n")
        if count % 10_000 == 0:
            yield count
    yield count


def producer(bootstrap: str, linger_ms: int = 20) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=linger_ms, max_batch_size=1 << 20, acks="all"
    )


async def produce(bootstrap: str, topic: str, events: Iterable[Event]) -> int:
    """Produce every event (keyed by :func:`kafka_key`) and wait for all acknowledgements."""
    sender = producer(bootstrap)
    try:
        await sender.start()
        acks = [await sender.send(topic, encoded(e), key=kafka_key(e)) for e in events]
        for ack in acks:
            await ack
    finally:
        await sender.stop()
    return len(acks)


async def append_to_store(database_url: str, events: Iterable[Event], outbox: bool) -> int:
    """Validate and append the events in batches, without ingest (to set a database up fast)."""
    engine = create_engine(async_database_url(database_url))
    store = SqlEventStore(engine, outbox=outbox)
    total = 0
    batch: list[NewEvent] = []
    try:
        for event in events:
            batch.append(NewEvent.from_portal(decode_portal_event(event)))
            if len(batch) == LOAD_BATCH:
                total += len(await store.append(batch))
                batch = []
        total += len(await store.append(batch))
    finally:
        await engine.dispose()
    return total
