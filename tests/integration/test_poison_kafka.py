"""On real Kafka and PostgreSQL, no record on initiatives.events.v1 stops the projector:
bytes that are not an event, an event no rule can apply and an event whose predecessor never
arrived each go to the dead-letter topic with the reason, the streams of the last two wait
in quarantine, and every later event of every other stream is projected."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.pipeline import IngestPipeline
from services.projector import quarantine
from services.projector.schema import rm_initiatives
from services.samples.portal_events import small_tree, submitted
from shared.contracts.recorded import RecordedEvent
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from tests.infrastructure import Infrastructure, create_topics
from tests.kafka_tools import produce, read_topic, wait_until
from tests.poison import POISON
from tests.running import kafka_projector_settings, running_projector

pytestmark = pytest.mark.integration


async def projected(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set((await connection.scalars(sa.select(rm_initiatives.c.initiative_id))).all())


async def test_poison_on_the_topic_is_dead_lettered_and_later_events_still_project(
    infrastructure: Infrastructure, postgres_url: str, kafka_topic_prefix: str
) -> None:
    bootstrap, p = infrastructure.kafka_bootstrap_servers, kafka_topic_prefix
    settings = kafka_projector_settings(postgres_url, bootstrap, p)
    await create_topics(bootstrap, [f"{p}events", f"{p}events.dlq", f"{p}changes"], partitions=2)
    engine = create_engine(postgres_url)
    store = SqlEventStore(engine, outbox=False)
    await IngestPipeline(store).submit([*small_tree(), submitted("sk-ok-1", "bk-cdcs-1")])
    await store.append(POISON)
    await IngestPipeline(store).submit([submitted("sk-ok-2", "bk-cdcs-2")])
    recorded = [r async for r in store.read_all()]
    gap = recorded[-1].model_copy(
        update={
            "position": 10**6,
            "stream_id": "initiative-sk-gap",
            "stream_version": 2,
            "event_id": "sk-gap-2",
            "recorded_at": dt.datetime.now(dt.UTC),
        }
    )
    initiatives = [r for r in recorded if r.stream_id != "reference"]
    wire = [r.to_wire() for r in initiatives[:-1]] + [b"{not an event", gap.to_wire()]
    wire.append(initiatives[-1].to_wire())

    async with running_projector(settings):
        await produce(bootstrap, settings.events_topic, wire, [_key(w) for w in wire])
        await wait_until(
            lambda: _has(engine, {"sk-ok-1", "sk-ok-2"}), within=60, what="later events projected"
        )
        letters = await read_topic(bootstrap, f"{settings.events_topic}.dlq", at_least=5)

    async with engine.connect() as connection:
        waiting = {q.stream_id: q.code for q in await quarantine.listed(connection)}
    await engine.dispose()
    assert await _has_exactly(postgres_url, {"sk-ok-1", "sk-ok-2"})
    assert waiting == {
        "initiative-sk-far": "unapplicable",
        "initiative-sk-bad": "unapplicable",
        "initiative-sk-v9": "unapplicable",
        "initiative-sk-gap": "stream_gap",
    }
    codes = sorted(dict(letter.headers)["x-error-code"].decode() for letter in letters)
    assert codes == ["stream_gap", "unapplicable", "unapplicable", "unapplicable", "undecodable"]
    far = next(letter for letter in letters if b"sk-far" in dict(letter.headers)["x-error-message"])
    assert RecordedEvent.from_wire(far.value).stream_id == "initiative-sk-far"
    assert dict(far.headers)["x-error-message"].startswith(b"initiative-sk-far@1: OverflowError")


def _key(wire: bytes) -> bytes:
    try:
        return RecordedEvent.from_wire(wire).stream_id.encode()
    except ValueError:
        return b"garbage"


async def _has(engine: AsyncEngine, ids: set[str]) -> bool:
    return ids <= await projected(engine)


async def _has_exactly(url: str, ids: set[str]) -> bool:
    engine = create_engine(url)
    try:
        return await projected(engine) == ids
    finally:
        await engine.dispose()
