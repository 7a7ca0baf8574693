"""The ingest pipeline accepts each valid fact once, refuses the rest with a reason, and parks
facts that only refer to something not known yet."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pytest

from services.ingest.pipeline import IngestPipeline
from services.ingest.verdicts import VerdictStatus
from services.samples.portal_events import (
    reviewed,
    small_tree,
    submitted,
    unit_moved,
    unit_registered,
)
from shared.contracts.portal import decode_portal_event
from shared.contracts.recorded import NewEvent
from shared.eventstore.memory import InMemoryEventStore
from shared.eventstore.port import AppendOutcome

A, D, R, P = (
    VerdictStatus.ACCEPTED,
    VerdictStatus.DUPLICATE,
    VerdictStatus.REJECTED,
    VerdictStatus.PARKED,
)


@pytest.fixture
def store() -> InMemoryEventStore:
    return InMemoryEventStore()


@pytest.fixture
async def pipeline(store: InMemoryEventStore) -> IngestPipeline:
    ingest = IngestPipeline(store)
    assert {v.status for v in await ingest.submit(small_tree())} == {A}
    return ingest


async def test_valid_facts_are_appended_to_their_streams_in_order(
    pipeline: IngestPipeline, store: InMemoryEventStore
) -> None:
    verdicts = await pipeline.submit(
        [submitted("sk-1", "bk-cdcs-1"), reviewed("initiative.approved", "sk-1")]
    )

    assert [v.status for v in verdicts] == [A, A]
    assert verdicts[0].position is not None
    assert verdicts[1].position is not None
    assert verdicts[0].position < verdicts[1].position
    stream = await store.read_stream("initiative-sk-1")
    assert [(r.type, r.stream_version) for r in stream] == [
        ("initiative.submitted", 1),
        ("initiative.approved", 2),
    ]
    reference = await store.read_stream("reference")
    assert [r.data.get("unit_id", r.type) for r in reference] == [
        "campaign.defined",
        "vn",
        "bk",
        "bk-bt",
        "bk-cdcs-1",
        "bk-cdcs-2",
    ]


async def test_the_same_event_twice_is_stored_once(
    pipeline: IngestPipeline, store: InMemoryEventStore
) -> None:
    event = submitted("sk-1", "bk-cdcs-1")

    first = await pipeline.submit([event, event])
    again = await pipeline.submit([event])

    assert [v.status for v in first + again] == [A, D, D]
    assert len(await store.read_stream("initiative-sk-1")) == 1


async def test_an_impossible_transition_is_rejected_with_the_reason(
    pipeline: IngestPipeline,
) -> None:
    verdicts = await pipeline.submit(
        [
            submitted("sk-1", "bk-cdcs-1"),
            reviewed("initiative.withdrawn", "sk-1"),
            reviewed("initiative.approved", "sk-1"),
        ]
    )

    assert [v.status for v in verdicts] == [A, A, R]
    assert verdicts[2].code == "invalid_transition"
    assert verdicts[2].message == "cannot approve initiative 'sk-1': it is withdrawn"


async def test_bad_input_in_a_batch_does_not_stop_the_good_input(pipeline: IngestPipeline) -> None:
    naive = submitted("sk-2", "bk-cdcs-1", at="2022-05-12T10:00:00")

    verdicts = await pipeline.submit(
        [b"{oops", naive, json.dumps(submitted("sk-1", "bk-cdcs-1")).encode()]
    )

    assert [(v.status, v.code) for v in verdicts] == [
        (R, "malformed_json"),
        (R, "naive_timestamp"),
        (A, None),
    ]
    assert verdicts[1].event_id == naive["event_id"]


async def test_facts_about_things_not_known_yet_are_parked_then_accepted_once_they_are(
    pipeline: IngestPipeline,
) -> None:
    early_review = reviewed("initiative.approved", "sk-9")
    unknown_unit = submitted("sk-8", "bk-cdcs-3")

    parked = await pipeline.submit([early_review, unknown_unit])
    await pipeline.submit([submitted("sk-9", "bk-cdcs-1"), unit_registered("bk-cdcs-3", "bk-bt")])
    retried = await pipeline.submit([early_review, unknown_unit])

    assert [(v.status, v.code) for v in parked] == [(P, "unknown_initiative"), (P, "unknown_unit")]
    assert [v.status for v in retried] == [A, A]


async def test_a_move_that_would_make_a_cycle_is_rejected(pipeline: IngestPipeline) -> None:
    [verdict] = await pipeline.submit([unit_moved("bk", "bk-cdcs-1")])

    assert verdict.status is R
    assert verdict.code == "hierarchy_cycle"


async def test_a_second_ingest_instance_sees_units_the_first_one_registered(
    pipeline: IngestPipeline, store: InMemoryEventStore
) -> None:
    other_instance = IngestPipeline(store)
    await other_instance.submit([submitted("warm-up", "bk-cdcs-1")])
    await pipeline.submit([unit_registered("bk-cdcs-7", "bk-bt")])

    [verdict] = await other_instance.submit([submitted("sk-1", "bk-cdcs-7")])

    assert verdict.status is A


class RacingStore(InMemoryEventStore):
    """Lets another writer append just before our first append, as a real race would."""

    def __init__(self) -> None:
        super().__init__()
        self.race: list[NewEvent] = []
        self.append_calls = 0

    async def append(
        self, events: Sequence[NewEvent], expected_versions: Mapping[str, int] | None = None
    ) -> list[AppendOutcome]:
        self.append_calls += 1
        if self.race:
            race, self.race = self.race, []
            await super().append(race)
        return await super().append(events, expected_versions)


async def test_losing_a_race_on_a_stream_means_retrying_against_the_winner_s_state() -> None:
    store = RacingStore()
    ingest = IngestPipeline(store)
    await ingest.submit([*small_tree(), submitted("sk-1", "bk-cdcs-1")])
    withdrawal = decode_portal_event(reviewed("initiative.withdrawn", "sk-1"))
    store.race = [NewEvent.from_portal(withdrawal)]
    calls_before = store.append_calls

    [late_approval, new_unit] = await ingest.submit(
        [reviewed("initiative.approved", "sk-1"), unit_registered("bk-cdcs-6", "bk-bt")]
    )

    assert store.append_calls - calls_before == 2
    assert late_approval.status is R
    assert late_approval.message == "cannot approve initiative 'sk-1': it is withdrawn"
    assert new_unit.status is A
    assert [r.type for r in await store.read_stream("initiative-sk-1")] == [
        "initiative.submitted",
        "initiative.withdrawn",
    ]
