"""The operator commands on dead letters and parked facts, on SQLite and real PostgreSQL:
a replay or a retry goes through ingest's own validation and leaves the tables saying what
really happened; ``--dry-run`` changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.ingest import operations
from services.ingest.components import IngestComponents, ingest_components
from services.ingest.intake import Incoming
from services.ingest.settings import IngestSettings
from services.samples.portal_events import reviewed, small_tree, submitted, unit_registered
from shared.dead_letters import DeadLetter, Origin, Selection, SqlDeadLetters
from shared.messaging.transport import transport_for

NOTIFIER = Origin("outbox", "progress_outbox", detail="row 7")


def raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def from_file(line: int) -> Origin:
    return Origin("file", detail=f"export.ndjson:{line}")


@pytest.fixture
def settings(database_url: str) -> IngestSettings:
    return IngestSettings(database_url=database_url, kafka_bootstrap_servers=None)


@pytest.fixture
async def parts(settings: IngestSettings) -> AsyncIterator[IngestComponents]:
    async with ingest_components(settings, transport_for(settings)) as components:
        await components.intake.receive(
            [Incoming(raw(e), from_file(n)) for n, e in enumerate(small_tree(), 1)],
            dead_letter_rejections=True,
        )
        yield components


async def letters_now(parts: IngestComponents) -> list[tuple[str, str, str]]:
    return [
        (s.letter.code, s.letter.message, s.letter.origin.describe())
        for s in await SqlDeadLetters(parts.engine).find(Selection())
    ]


async def streams(parts: IngestComponents, stream_id: str) -> list[str]:
    return [r.event_id for r in await parts.store.read_stream(stream_id)]


async def test_a_replay_appends_what_is_valid_now_removes_its_letter_and_refreshes_the_rest(
    parts: IngestComponents, settings: IngestSettings
) -> None:
    stored = submitted("sk-1", "bk-cdcs-1", event_id="sub-1")
    await parts.intake.receive([Incoming(raw(stored), from_file(7))], dead_letter_rejections=True)
    waited = submitted("sk-5", "bk-new", event_id="sub-5")
    await SqlDeadLetters(parts.engine).send(
        [
            DeadLetter(raw(waited), "unknown_unit", "still waiting after 3 attempts", from_file(8)),
            DeadLetter(raw(stored), "unknown_unit", "still waiting after 3 attempts", from_file(9)),
            DeadLetter(b'{"event_id": "x", "type": ', "stale_code", "an old reason", from_file(10)),
            DeadLetter(b'{"unit_id": "bk"}', "invalid_change", "a progress change", NOTIFIER),
        ]
    )
    before = await letters_now(parts)
    await parts.intake.receive(
        [Incoming(raw(unit_registered("bk-new", "bk-bt", "grassroots")), from_file(11))],
        dead_letter_rejections=True,
    )

    dry = await operations.replay_letters(
        settings, transport_for(settings), Selection(), dry_run=True
    )
    assert await letters_now(parts) == before
    assert await streams(parts, "initiative-sk-5") == []
    assert [r.outcome(True) for r in dry.replayed] == [
        "appended: would be removed",
        "duplicate: would be removed",
        "still malformed_json: would stay",
        "left alone: not a portal event",
    ]

    report = await operations.replay_letters(
        settings, transport_for(settings), Selection(), dry_run=False
    )

    assert not report.complete
    assert await streams(parts, "initiative-sk-5") == ["sub-5"]
    assert await streams(parts, "initiative-sk-1") == ["sub-1"], "a duplicate stays a duplicate"
    [(code, message, origin), notifier] = await letters_now(parts)
    assert (code, origin) == ("malformed_json", "export.ndjson:10")
    assert message.startswith("Expecting value")
    assert notifier == ("invalid_change", "a progress change", "outbox progress_outbox row 7")


async def test_letters_are_selected_by_code_and_by_an_aware_time_window(
    parts: IngestComponents, settings: IngestSettings
) -> None:
    await parts.intake.receive(
        [
            Incoming(b"not json", from_file(7)),
            Incoming(raw(submitted("sk-2", "bk-cdcs-1", at="2022-05-12T10:00:00")), from_file(8)),
        ],
        dead_letter_rejections=True,
    )
    letters = SqlDeadLetters(parts.engine)
    [first, second] = await letters.find(Selection())
    later = second.dead_lettered_at + dt.timedelta(seconds=1)

    assert [s.id for s in await letters.find(Selection(codes=("naive_timestamp",)))] == [second.id]
    assert await letters.find(Selection(since=later)) == []
    assert [s.id for s in await letters.find(Selection(until=later, limit=1))] == [first.id]
    assert await letters.count(Selection(until=later)) == 2
    assert await letters.get(first.id) == first
    assert await letters.get(second.id + 100) is None
    dry = await operations.replay_letters(
        settings, transport_for(settings), Selection(codes=("nope",)), dry_run=False
    )
    assert dry.replayed == []


async def test_parked_facts_are_retried_now_and_a_dry_run_leaves_them_parked(
    parts: IngestComponents, settings: IngestSettings
) -> None:
    approval = reviewed("initiative.approved", "sk-9", event_id="approve-9")
    orphan = submitted("sk-8", "bk-gone", event_id="sub-8")
    await parts.intake.receive(
        [Incoming(raw(approval), from_file(7)), Incoming(raw(orphan), from_file(8))],
        dead_letter_rejections=True,
    )
    await parts.intake.receive(
        [Incoming(raw(submitted("sk-9", "bk-cdcs-2", event_id="sub-9")), from_file(9))],
        dead_letter_rejections=True,
    )
    by_code = await parts.parking.find(Selection(codes=("unknown_initiative",)))
    assert [p.event_id for p in by_code] == ["approve-9"]

    dry = await operations.retry_parked(
        settings, transport_for(settings), Selection(), dry_run=True
    )
    assert [(r.parked.event_id, r.fate) for r in dry.report.tried] == [
        ("approve-9", "released"),
        ("sub-8", "still parked"),
    ]
    assert [p.attempts for p in await parts.parking.find(Selection())] == [1, 1]
    assert await streams(parts, "initiative-sk-9") == ["sub-9"]

    retried = await operations.retry_parked(
        settings, transport_for(settings), Selection(), dry_run=False
    )

    assert retried.report.released == 1
    assert await streams(parts, "initiative-sk-9") == ["sub-9", "approve-9"]
    [still] = await parts.parking.find(Selection())
    assert (still.event_id, still.code, still.attempts) == ("sub-8", "unknown_unit", 2)
    assert await letters_now(parts) == []
