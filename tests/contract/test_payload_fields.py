"""On PostgreSQL the rebuild's history read takes the payload fields the columnar fold reads
out of the stored ``jsonb`` in the server (``PAYLOAD_FIELDS``) instead of sending the payload
as text to be decoded by the engine. The fold of that frame must be the fold of the same
stored facts decoded by the engine, field for field and fallback for fallback, whatever the
payloads hold: the random histories of the columnar fold's own property test, with unusual
but valid payloads and with hostile ones (numbers, objects and lists where text belongs,
authors that are not objects, payloads that are not objects, keys given twice)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.attribution import Attribution
from services.projector.columnar import PAYLOAD_FIELDS, ColumnarFold, as_folded, fold_columns
from services.projector.fold import fold_batch
from shared.contracts.recorded import StoredFact
from shared.eventstore.frames import frame_of
from shared.eventstore.schema import events
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from tests.unit.projector.test_columnar_fold import (
    assert_same,
    merged,
    stored,
    two_submissions,
    unusual,
)
from tests.unit.projector.test_projection_matches_reference import Scenario, scenarios

pytestmark = pytest.mark.integration

Payload = dict[str, Any]


def _set(name: str, value: Any) -> Callable[[Payload], str]:
    return lambda data: json.dumps({**data, name: value}, ensure_ascii=False)


HOSTILE: dict[str, Callable[[Payload], str]] = {
    "title a number": _set("title", 5),
    "unit an object": _set("unit_id", {"id": "g1"}),
    "category a list": _set("category", ["digital"]),
    "initiative id true": _set("initiative_id", True),
    "title empty": _set("title", ""),
    "title null": _set("title", None),
    "authors a text": _set("authors", "Nguyễn Văn A"),
    "authors an object": _set("authors", {"name": "A", "author_type": "worker"}),
    "authors not objects": _set("authors", ["A", "B"]),
    "author's name a number": _set("authors", [{"name": 5, "author_type": "worker"}]),
    "author's member id an object": _set(
        "authors", [{"name": "A", "member_id": {"n": 1}, "author_type": "worker"}]
    ),
    "a list, not an object": lambda data: json.dumps(list(data.items()), ensure_ascii=False),
    "a text, not an object": lambda data: json.dumps(json.dumps(data)),
    "title given twice, last a number": lambda data: json.dumps(data)[:-1] + ', "title": 7}',
    "unit given twice, last a text": lambda data: json.dumps(data)[:-1] + ', "unit_id": "g1"}',
}


READING_AUTHORS = {"initiative.submitted", "initiative.updated"}
"""Where hostile payloads go: the facts whose fields the fold reads the most."""


def hostile(fact: StoredFact, draw: st.DrawFn) -> StoredFact:
    how = draw(st.sampled_from(sorted(HOSTILE)))
    event(f"hostile payload: {how}")
    return fact._replace(data=HOSTILE[how](json.loads(fact.data)))


async def store_as_is(url: str, facts: list[StoredFact]) -> AsyncEngine:
    """A database whose store holds exactly ``facts`` (their payloads as the server keeps
    ``jsonb``), written past the store's own checks as a foreign or older writer might."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(events.delete())
        for fact in facts:
            await connection.execute(
                sa.text(
                    "INSERT INTO events (stream_id, stream_version, event_id, type,"
                    " schema_version, occurred_at, recorded_at, data, metadata)"
                    " VALUES (:stream, :version, :id, :type, :schema, :at, :at,"
                    " CAST(:data AS jsonb), '{}')"
                ),
                {
                    "stream": fact.stream_id,
                    "version": fact.stream_version,
                    "id": f"{fact.stream_id}/{fact.stream_version}",
                    "type": fact.type,
                    "schema": fact.schema_version,
                    "at": fact.occurred_at.astimezone(dt.UTC),
                    "data": fact.data,
                },
            )
    return engine


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(scenario=scenarios(), data=st.data())
async def test_the_fields_the_server_extracts_fold_as_the_payloads_decoded_here(
    postgres_url: str, scenario: Scenario, data: st.DataObject
) -> None:
    attribution, facts = await stored(scenario.events)
    rewrite = data.draw(st.sampled_from([unusual, hostile]), label="rewrite")
    read = [n for n, f in enumerate(facts) if rewrite is unusual or f.type in READING_AUTHORS]
    odd = data.draw(st.sets(st.sampled_from(read or [0]), max_size=4), label="odd")
    facts = [rewrite(f, data.draw) if n in odd else f for n, f in enumerate(facts)]
    await assert_folded_alike(postgres_url, attribution, facts)


@pytest.mark.parametrize("how", sorted(HOSTILE))
async def test_a_hostile_submission_folds_alike(postgres_url: str, how: str) -> None:
    attribution, facts = await two_submissions(
        lambda fact: fact._replace(data=HOSTILE[how](json.loads(fact.data)))
    )
    by_server = await assert_folded_alike(postgres_url, attribution, facts)
    assert by_server.fallback == ({"initiative-i1"} if how not in VALID_AS_STORED else set())


VALID_AS_STORED = {"unit given twice, last a text"}
"""The server keeps a repeated key's last value, as the models read it."""


async def assert_folded_alike(
    url: str, attribution: Attribution, facts: list[StoredFact]
) -> ColumnarFold:
    """Store ``facts``, read them back both ways and fold each; the server's fold."""
    engine = await store_as_is(url, facts)
    store = SqlEventStore(engine)
    try:
        until = await store.last_position()
        extracted = await store.read_histories("", until, len(facts) + 1, PAYLOAD_FIELDS)
        as_stored = await store.read_history_facts({f.stream_id for f in facts}, until)
    finally:
        await engine.dispose()
    campaigns = attribution.view.campaigns

    by_server = fold_columns(extracted, attribution, campaigns)
    here = fold_columns(frame_of(as_stored), attribution, campaigns)
    stricter_here = [f for f in as_stored if f.stream_id in here.fallback - by_server.fallback]
    expected = merged(as_folded(here), fold_batch({}, stricter_here, attribution))

    assert "data" not in extracted.columns
    assert len(as_stored) == len(facts)
    assert by_server.fallback <= here.fallback
    assert_same(as_folded(by_server), expected, exact_keys=not here.fallback)
    return by_server
