"""`initiatives dead-letters replay --from-kafka` on real Kafka and PostgreSQL: the DLQ's
records go back to the input topic with their key, a dry run produces nothing, and a fact
whose unit arrived since is appended by the running ingest."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.ingest import dlq
from services.ingest.components import IngestComponents
from services.ingest.settings import IngestSettings
from services.samples.portal_events import small_tree, submitted, unit_registered
from shared.dead_letters import Selection
from shared.messaging.transport import KafkaTransport
from tests.infrastructure import Infrastructure, create_topics
from tests.kafka_tools import produce, read_topic, wait_until
from tests.running import running_ingest

pytestmark = pytest.mark.integration


def encoded(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


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
        park_hold_seconds=1.0,
        park_retry_interval_seconds=0.2,
    )
    await create_topics(
        infrastructure.kafka_bootstrap_servers,
        [ingest.input_topic, ingest.events_topic, ingest.dead_letters],
        partitions=3,
    )
    return ingest


async def stream(parts: IngestComponents, stream_id: str) -> list[str]:
    return [r.event_id for r in await parts.store.read_stream(stream_id)]


async def test_dlq_records_go_back_to_the_input_topic_with_their_keys_and_are_appended(
    settings: IngestSettings,
) -> None:
    bootstrap = settings.kafka_bootstrap_servers or ""
    early = encoded(submitted("sk-1", "bk-new", event_id="sub-1"))
    tree = [encoded(e) for e in small_tree()]
    await produce(bootstrap, settings.input_topic, tree, keys=[b"reference"] * len(tree))
    await produce(bootstrap, settings.input_topic, [early, b"not json"], keys=[b"sk-1", b"junk"])

    async with running_ingest(settings) as parts:
        letters = await read_topic(bootstrap, settings.dead_letters, at_least=2, within=60)
        by_code = {dict(r.headers)["x-error-code"]: r for r in letters}
        assert set(by_code) == {b"unknown_unit", b"malformed_json"}
        assert (by_code[b"unknown_unit"].key, by_code[b"unknown_unit"].value) == (b"sk-1", early)
        unit = encoded(unit_registered("bk-new", "bk-bt", "grassroots"))
        await produce(bootstrap, settings.input_topic, [unit], keys=[b"reference"])
        await wait_until(lambda: _has_unit(parts), what="bk-new registered")

        selection = Selection(codes=("unknown_unit",))
        kafka = KafkaTransport(bootstrap)
        listed = await dlq.read_letters(settings, kafka, Selection())
        dry = await dlq.replay_letters(settings, kafka, selection, dry_run=True)
        done = await dlq.replay_letters(settings, kafka, selection, dry_run=False)
        await wait_until(lambda: _has_stream(parts), within=60, what="sub-1 appended")
        appended = await stream(parts, "initiative-sk-1")

    assert sorted(x.letter.code for x in listed) == ["malformed_json", "unknown_unit"]
    [letter] = [x for x in listed if x.letter.code == "unknown_unit"]
    assert letter.letter.origin.topic == settings.input_topic
    assert letter.letter.origin.key == "sk-1"
    assert [x.id for x in dry.letters] == [x.id for x in done.letters] == [letter.id]
    assert done.complete
    assert appended == ["sub-1"]
    records = await read_topic(bootstrap, settings.input_topic, at_least=len(tree) + 4)
    replayed = [r for r in records if "x-replayed-from" in dict(r.headers)]
    assert [(r.key, r.value) for r in replayed] == [(b"sk-1", early)], "the dry run produced none"
    assert dict(replayed[0].headers)["x-replayed-from"] == (
        f"{settings.dead_letters}/{letter.id}".encode()
    )


async def _has_unit(parts: IngestComponents) -> bool:
    reference = await parts.store.read_stream("reference")
    return any(r.data.get("unit_id") == "bk-new" for r in reference)


async def _has_stream(parts: IngestComponents) -> bool:
    return bool(await stream(parts, "initiative-sk-1"))
