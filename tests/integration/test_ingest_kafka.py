"""Ingest on real Kafka and PostgreSQL: nothing lost, nothing stored twice, bad input
dead-lettered with its reason while the consumer goes on."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from services.ingest.components import IngestComponents, ingest_components
from services.ingest.intake import Incoming
from services.ingest.relay import OutboxRelay
from services.ingest.settings import IngestSettings
from services.samples.portal_events import reviewed, small_tree, submitted
from shared.contracts.recorded import RecordedEvent
from shared.dead_letters import Origin
from shared.messaging.transport import transport_for
from tests.infrastructure import Infrastructure, create_topics
from tests.kafka_tools import produce, read_topic, wait_until
from tests.running import running_ingest

pytestmark = pytest.mark.integration


def encoded(events: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(event, ensure_ascii=False).encode() for event in events]


@pytest.fixture
async def settings(
    infrastructure: Infrastructure, postgres_url: str, kafka_topic_prefix: str
) -> IngestSettings:
    prefix = kafka_topic_prefix
    ingest = IngestSettings(
        database_url=postgres_url,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
        input_topic=f"{prefix}portal.submissions.v1",
        events_topic=f"{prefix}initiatives.events.v1",
        consumer_group=f"{prefix}ingest",
        batch_timeout_ms=50,
        park_hold_seconds=1.5,
        park_retry_interval_seconds=0.2,
    )
    await create_topics(
        infrastructure.kafka_bootstrap_servers,
        [ingest.input_topic, ingest.events_topic, ingest.dead_letters],
        partitions=4,
    )
    return ingest


async def stored(parts: IngestComponents) -> list[RecordedEvent]:
    return [record async for record in parts.store.read_all()]


async def test_bad_input_goes_to_the_dlq_with_its_reason_and_the_consumer_goes_on(
    settings: IngestSettings,
) -> None:
    bootstrap = settings.kafka_bootstrap_servers or ""
    await produce(bootstrap, settings.input_topic, encoded(small_tree()))
    missing_field = submitted("sk-2", "bk-cdcs-1")
    del missing_field["data"]["title"]
    bad = {
        "malformed_json": b'{"event_id": "x", "type": ',
        "unknown_type": encoded([{**submitted("sk-3", "bk-cdcs-1"), "type": "initiative.liked"}])[
            0
        ],
        "invalid_data": encoded([missing_field])[0],
        "naive_timestamp": encoded([submitted("sk-4", "bk-cdcs-1", at="2022-05-12T10:00:00")])[0],
        "oversized": encoded([{**submitted("sk-5", "bk-cdcs-1"), "padding": "x" * 300_000}])[0],
        "invalid_transition": encoded([reviewed("initiative.recognized", "sk-1", award_level="A")])[
            0
        ],
        "unknown_unit": encoded([submitted("sk-6", "no-such-unit")])[0],
    }
    good = encoded([submitted("sk-1", "bk-cdcs-1")])
    good_after = encoded([submitted("sk-7", "bk-cdcs-2")])

    async with running_ingest(settings) as parts:
        await produce(bootstrap, settings.input_topic, [*good, *bad.values(), *good_after])
        letters = await read_topic(bootstrap, settings.dead_letters, at_least=len(bad), within=60)
        events = await stored(parts)

    by_code = {dict(r.headers)["x-error-code"].decode(): r for r in letters}
    assert set(by_code) == set(bad)
    for code, raw in bad.items():
        letter = by_code[code]
        headers = {name: value.decode() for name, value in letter.headers}
        assert letter.value == raw
        assert headers["x-source-topic"] == settings.input_topic
        assert int(headers["x-source-offset"]) >= 0
        assert headers["x-error-message"]
    assert (
        "data.title: Field required"
        in dict(by_code["invalid_data"].headers)["x-error-message"].decode()
    )
    assert "still waiting" in dict(by_code["unknown_unit"].headers)["x-error-message"].decode()
    assert {e.stream_id for e in events if e.stream_id.startswith("initiative-")} == {
        "initiative-sk-1",
        "initiative-sk-7",
    }


async def test_an_event_redelivered_by_kafka_and_sent_again_over_http_is_stored_once(
    settings: IngestSettings,
) -> None:
    bootstrap = settings.kafka_bootstrap_servers or ""
    event = submitted("sk-1", "bk-cdcs-1")
    await produce(bootstrap, settings.input_topic, encoded([*small_tree(), event, event]))

    async with running_ingest(settings) as parts:
        await wait_until(lambda: has_stream(parts, "initiative-sk-1"), what="sk-1 stored")
    redelivery = settings.model_copy(update={"consumer_group": f"{settings.consumer_group}-again"})
    async with running_ingest(redelivery) as parts:
        await wait_until(lambda: consumed_everything(parts, redelivery), what="re-read")
        [http] = await parts.intake.receive(
            [Incoming(encoded([event])[0], Origin("http", detail="national-portal"))],
            dead_letter_rejections=False,
        )
        events = await stored(parts)

    assert http.status == "duplicate"
    assert [e.event_id for e in events if e.stream_id == "initiative-sk-1"] == [event["event_id"]]


async def test_two_instances_in_one_group_store_every_event_exactly_once(
    settings: IngestSettings,
) -> None:
    bootstrap = settings.kafka_bootstrap_servers or ""
    await produce(bootstrap, settings.input_topic, encoded(small_tree()), keys=[b"ref"] * 6)
    facts = []
    for n in range(400):
        facts.append(submitted(f"sk-{n}", f"bk-cdcs-{n % 2 + 1}"))
        facts.append(reviewed("initiative.approved", f"sk-{n}"))
    keys = [f"sk-{n // 2}".encode() for n in range(len(facts))]

    async with running_ingest(settings) as first, running_ingest(settings) as second:
        await produce(bootstrap, settings.input_topic, encoded(facts), keys=keys)
        await wait_until(
            lambda: count_at_least(first, 6 + len(facts)), within=90, what="all stored"
        )
        handled = [
            first.metrics.events.labels("accepted", "initiative.submitted", "")._value.get(),
            second.metrics.events.labels("accepted", "initiative.submitted", "")._value.get(),
        ]
        events = await stored(first)

    assert len(events) == 6 + len(facts)
    assert len({e.event_id for e in events}) == len(events)
    assert all(count > 0 for count in handled), handled
    assert sum(handled) == 400


async def test_a_crash_between_append_and_publish_loses_and_reorders_nothing(
    settings: IngestSettings,
) -> None:
    bootstrap = settings.kafka_bootstrap_servers or ""
    history = [*small_tree()]
    for n in range(60):
        history += [
            submitted(f"sk-{n}", "bk-cdcs-1"),
            reviewed("initiative.revision_requested", f"sk-{n}"),
            reviewed("initiative.resubmitted", f"sk-{n}"),
            reviewed("initiative.approved", f"sk-{n}"),
        ]
    async with ingest_components(settings, transport_for(settings)) as parts:
        verdicts = await parts.intake.receive(
            [Incoming(raw, Origin("test")) for raw in encoded(history)], dead_letter_rejections=True
        )
        assert {v.status for v in verdicts} == {"accepted"}
        assert parts.link.producer is not None
        crashing = OutboxRelay(
            parts.store, parts.link.producer, settings.events_topic, parts.metrics, batch_size=100
        )
        await crashing.relay_once()
        await crashing.relay_once()  # published twice 100, then "crashed" before marking the rest

        async def crash(positions: object) -> None:
            raise RuntimeError("killed between publish and mark")

        parts.store.mark_published = crash  # type: ignore[method-assign]
        with pytest.raises(RuntimeError):
            await crashing.relay_once()
    async with ingest_components(settings, transport_for(settings)) as restarted:
        assert restarted.link.producer is not None
        relay = OutboxRelay(
            restarted.store, restarted.link.producer, settings.events_topic, restarted.metrics
        )
        while await relay.relay_once():
            pass
        assert (await restarted.store.outbox_backlog()).size == 0

    records = await read_topic(bootstrap, settings.events_topic, at_least=len(history))
    versions: dict[str, list[int]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        event = RecordedEvent.from_wire(record.value)
        assert record.key == event.stream_id.encode()
        versions[event.stream_id].append(event.stream_version)
    assert len(records) > len(history), "the crash must have caused duplicate publishes"
    for stream, seen in versions.items():
        first_seen = list(dict.fromkeys(seen))
        assert first_seen == list(range(1, len(first_seen) + 1)), stream
    assert sum(len(set(v)) for v in versions.values()) == len(history)


async def has_stream(parts: IngestComponents, stream_id: str) -> bool:
    return bool(await parts.store.read_stream(stream_id))


async def count_at_least(parts: IngestComponents, count: int) -> bool:
    return await parts.store.last_position() >= count and len(await stored(parts)) >= count


async def consumed_everything(parts: IngestComponents, settings: IngestSettings) -> bool:
    return parts.metrics.events.labels("duplicate", "initiative.submitted", "")._value.get() >= 2
