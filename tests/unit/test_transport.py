"""The transport is chosen once: only the settings and ``shared.messaging.transport`` read the
Kafka setting, and each transport wires a service's input, relays and dead letters its way."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import create_async_engine

from services.ingest.settings import IngestSettings
from shared.dead_letters import KafkaDeadLetters, SqlDeadLetters
from shared.messaging.transport import (
    EmbeddedTransport,
    KafkaLink,
    KafkaTransport,
    Subscription,
    transport_for,
)

ROOT = Path(__file__).resolve().parents[2]
MAY_READ_THE_SETTING = {
    "shared/config.py": "defines it",
    "shared/messaging/transport.py": "chooses the transport",
    "shared/dependencies.py": "names it in start-up errors",
    "services/demo/main.py": "gives every service's settings the same value",
    "services/asyncapi.py": "documents the channels with a placeholder broker",
}


def test_only_the_settings_and_the_transport_read_the_kafka_setting() -> None:
    readers = {
        str(path.relative_to(ROOT))
        for folder in ("services", "shared")
        for path in (ROOT / folder).rglob("*.py")
        if "kafka_bootstrap_servers" in path.read_text(encoding="utf-8")
    }
    assert readers <= set(MAY_READ_THE_SETTING), sorted(readers - set(MAY_READ_THE_SETTING))


def test_the_settings_choose_the_transport_once() -> None:
    embedded = transport_for(IngestSettings(kafka_bootstrap_servers=None))
    kafka = transport_for(IngestSettings(kafka_bootstrap_servers="broker:9092"))

    assert isinstance(embedded, EmbeddedTransport)
    assert embedded.in_process
    assert isinstance(kafka, KafkaTransport)
    assert not kafka.in_process
    assert str(embedded) == "in-process (embedded default)"
    assert str(kafka) == "Kafka at broker:9092"


def test_kafka_is_waited_for_and_checked_only_on_kafka() -> None:
    url = "sqlite+aiosqlite:///var/never-opened.db"
    engine = create_async_engine(url)

    [database] = [what for what, _ in EmbeddedTransport().dependencies(url)]
    assert database.startswith("the database, SQLite file var/never-opened.db (")
    waits = [what for what, _ in KafkaTransport("broker:9092").dependencies(url)]
    assert waits[0] == database
    assert [what.split(" (")[0] for what in waits[1:]] == ["Kafka at broker:9092"]
    assert set(EmbeddedTransport().readiness(engine)) == {"database"}
    assert set(KafkaTransport("broker:9092").readiness(engine)) == {"database", "kafka"}


async def test_in_process_a_subscription_runs_its_loop_and_nothing_is_relayed() -> None:
    engine = create_async_engine("sqlite+aiosqlite://")
    ran = asyncio.Event()
    made: list[object] = []

    async def reads_the_table() -> None:
        ran.set()
        await asyncio.Event().wait()

    async def handle(records: object) -> None:
        raise AssertionError("nothing is consumed in process")

    async with EmbeddedTransport().connect("test") as link:
        assert link.producer is None
        assert not link.keeps_outbox
        assert isinstance(link.dead_letters(engine, "topic.dlq"), SqlDeadLetters)
        link.publish("relay", made.append)  # type: ignore[arg-type]
        link.subscribe(
            Subscription(
                "topic",
                handle,
                handle,
                "group",
                10,
                50,
                "title",
                "description",
                in_process=("reader", reads_the_table),
            )
        )
        await link.start()
        await asyncio.wait_for(ran.wait(), 10)
        await link.stop()
    assert made == []


async def test_on_kafka_relays_use_the_producer_and_dead_letters_go_to_a_topic() -> None:
    engine = create_async_engine("sqlite+aiosqlite://")
    producer = KafkaTransport("broker:9092").producer("test")
    link = KafkaLink("broker:9092", "initiatives-test", producer)
    given: list[object] = []

    class Relay:
        def __init__(self, producer: object) -> None:
            given.append(producer)

        async def run(self) -> None: ...

        async def relay_once(self) -> int:
            return 0

    try:
        link.publish("relay", Relay)
        assert given == [producer]
        assert link.keeps_outbox
        assert isinstance(link.dead_letters(engine, "topic.dlq"), KafkaDeadLetters)
    finally:
        await producer.stop()  # never started, but left open it warns when collected
