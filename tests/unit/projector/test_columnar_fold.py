"""The columnar fold equals the per-event fold on whole histories (issue 19).

Random portal streams (``scenarios`` of the reference-model test: a small tree, plans,
random lifecycles with updates, withdrawals and revision loops, moves, merges and replaced
plans at random instants) go through ingest into an in-memory store; some stored facts are
then rewritten as older or unusual but valid payloads (v1 submissions, spaces the models
strip, escaped letters, reordered keys, unknown fields). ``fold_columns`` plus the per-event
fold of its fallback streams must give exactly what ``fold_batch`` gives for all of them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.ingest.pipeline import IngestPipeline
from services.projector.attribution import Attribution
from services.projector.columnar import CONTRIBUTIONS, IN_PHASE, as_folded, fold_columns
from services.projector.deltas import Deltas, add_into
from services.projector.fold import Folded, fold_batch, initiative_facts
from services.projector.read_models import AGGREGATES
from shared.contracts.base import REFERENCE_STREAM
from shared.contracts.recorded import RecordedEvent, StoredFact
from shared.domain.errors import InvalidTransition
from shared.eventstore.frames import frame_of
from shared.eventstore.memory import InMemoryEventStore
from shared.reference import ReferenceView
from tests.unit.projector.test_projection_matches_reference import (
    V1_AUTHOR_TYPES,
    V1_CATEGORIES,
    Builder,
    Scenario,
    scenarios,
)

Event = dict[str, Any]


async def stored(events: Sequence[Event]) -> tuple[Attribution, list[StoredFact]]:
    """Ingest ``events``; the attribution of the stored reference facts, and the stored
    initiative facts as a rebuild reads them."""
    store = InMemoryEventStore(outbox=False)
    await IngestPipeline(store).submit(list(events))
    records = [r async for r in store.read_all(after=0)]
    return attribution_of(records), [fact_of(r) for r in initiative_facts(records)]


def attribution_of(records: Sequence[RecordedEvent]) -> Attribution:
    view = ReferenceView(InMemoryEventStore())
    for record in records:
        if record.stream_id == REFERENCE_STREAM:
            view.apply(record)
    return Attribution(view)


def fact_of(
    record: RecordedEvent, data: str | None = None, version: int | None = None
) -> StoredFact:
    return StoredFact(
        record.position,
        record.stream_id,
        record.stream_version,
        record.type,
        record.schema_version if version is None else version,
        record.occurred_at,
        json.dumps(record.data, ensure_ascii=False) if data is None else data,
    )


def unusual(fact: StoredFact, draw: st.DrawFn) -> StoredFact:
    """``fact`` stored otherwise, as a valid payload may be: the per-event fold reads each
    of these as the original (or as the v1 upcast), the columnar one must not misread it."""
    data = json.loads(fact.data)
    how = draw(st.sampled_from(["v1", "spaces", "escaped", "reordered", "unknown", "indented"]))
    event(f"unusual payload: {how}")
    v1 = fact.type == "initiative.submitted" and all(
        a["author_type"] in V1_AUTHOR_TYPES for a in data.get("authors", ())
    )
    if how == "v1" and v1:
        data.pop("category_text")
        data["category"] = draw(st.sampled_from(V1_CATEGORIES))
        return fact._replace(schema_version=1, data=json.dumps(data, ensure_ascii=False))
    if how == "spaces" and "title" in data and data["title"]:
        data["title"] = f" {data['title']}\t"
    if how == "escaped" and data.get("unit_id"):
        text = json.dumps(data, ensure_ascii=False)
        return fact._replace(data=text.replace('"unit_id"', '"unit\\u005fid"'))
    if how == "reordered":
        data = dict(reversed(data.items()))
    if how == "unknown":
        data["note"] = {"title": "not the title", "authors": 3}
    indent = 2 if how == "indented" else None
    return fact._replace(data=json.dumps(data, ensure_ascii=False, indent=indent))


def merged(columnar: Folded, rest: Folded) -> Folded:
    deltas = Deltas()
    for into, *parts in zip(deltas.tables, columnar.deltas.tables, rest.deltas.tables, strict=True):
        for part in parts:
            add_into(into, part)
    return Folded(
        {**columnar.rows, **rest.rows},
        columnar.history + rest.history,
        deltas,
        columnar.authors_added + rest.authors_added,
        columnar.authors_dropped + rest.authors_dropped,
        {**columnar.replaced, **rest.replaced},
    )


def nonzero(deltas: Deltas) -> list[dict[Any, list[int]]]:
    return [{k: v for k, v in table.items() if any(v)} for table in deltas.tables]


def assert_same(found: Folded, expected: Folded, exact_keys: bool) -> None:
    assert found.rows == expected.rows
    assert sorted(found.history, key=str) == sorted(expected.history, key=str)
    assert sorted(found.authors_added) == sorted(expected.authors_added)
    assert found.authors_dropped == expected.authors_dropped == []
    assert nonzero(found.deltas) == nonzero(expected.deltas)
    if exact_keys:  # split folds may keep different keys that sum to zero
        assert [dict(t) for t in found.deltas.tables] == [dict(t) for t in expected.deltas.tables]


def fold_both(attribution: Attribution, facts: Sequence[StoredFact]) -> tuple[Folded, set[str]]:
    """The columnar fold with the per-event fold of its fallback, and its fallback."""
    columnar = fold_columns(frame_of(facts), attribution, attribution.view.campaigns)
    rest = [f for f in facts if f.stream_id in columnar.fallback]
    found = merged(as_folded(columnar), fold_batch({}, rest, attribution))
    return found, set(columnar.fallback)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=scenarios(), data=st.data())
async def test_the_columnar_fold_equals_the_per_event_fold(
    scenario: Scenario, data: st.DataObject
) -> None:
    attribution, facts = await stored(scenario.events)
    odd = data.draw(st.sets(st.integers(0, max(len(facts) - 1, 0)), max_size=4), label="odd")
    facts = [unusual(f, data.draw) if n in odd else f for n, f in enumerate(facts)]
    expected = fold_batch({}, facts, attribution)
    found, fallback = fold_both(attribution, facts)
    event(f"fallback streams: {min(len(fallback), 2)}{'+' if len(fallback) > 1 else ''}")
    assert_same(found, expected, exact_keys=not fallback)
    usual = {f.stream_id for n, f in enumerate(facts) if n in odd}
    assert fallback <= usual, "a stream of usual payloads fell back"


def test_every_aggregate_has_a_columnar_contribution() -> None:
    assert set(CONTRIBUTIONS) == {aggregate.name for aggregate in AGGREGATES}
    assert set(CONTRIBUTIONS) >= IN_PHASE


# -- cases, one by one -------------------------------------------------------------------------


class Case(Builder):
    def world(self) -> list[Event]:
        return [
            self.ref("campaign.defined", campaign_id="c1", name="1 triệu"),
            self.unit("vn", None, "national"),
            self.unit("p1", "vn", "province"),
            self.unit("g1", "p1", "grassroots"),
            self.unit("g2", "p1", "grassroots"),
            self.plan(
                "vn",
                [
                    ("a", dt.date(2022, 1, 1), dt.date(2022, 5, 31)),
                    ("b", dt.date(2022, 6, 1), dt.date(2022, 12, 31)),
                ],
                [],
            ),
        ]

    def submitted(self, initiative_id: str, at: str, **data: Any) -> Event:
        details = {
            "campaign_id": "c1",
            "unit_id": "g1",
            "title": f"Sáng kiến {initiative_id}",
            "category": "digital",
            "solution_type": "technical",
            "authors": [
                {"name": "Nguyễn Văn A", "author_type": "worker"},
                {"name": "Nguyen van a", "member_id": None, "author_type": "member"},
                {"name": "Trần B", "member_id": "m7", "author_type": "worker"},
            ],
        }
        return self.fact("submitted", initiative_id, at, **(details | data))


async def fold_case(events: list[Event]) -> tuple[Folded, set[str], Folded]:
    attribution, facts = await stored(events)
    found, fallback = fold_both(attribution, facts)
    expected = fold_batch({}, facts, attribution)
    assert_same(found, expected, exact_keys=not fallback)
    return found, fallback, expected


async def test_a_revision_loop_keeps_the_first_submission_and_the_last_title() -> None:
    case = Case()
    events = [
        *case.world(),
        case.fact("registered", "i1", "2022-05-30T10:00:00+07:00", campaign_id="c1",
                  unit_id="g2", title="Đăng ký"),
        case.submitted("i1", "2022-05-31T23:59:59+07:00", title="Nộp"),
        case.fact("revision_requested", "i1", "2022-06-02T09:00:00+07:00"),
        case.fact("resubmitted", "i1", "2022-06-03T09:00:00+07:00"),
        case.fact("revision_requested", "i1", "2022-06-04T09:00:00+07:00"),
        case.fact("resubmitted", "i1", "2022-06-05T09:00:00+07:00", title="Sửa"),
        case.fact("updated", "i1", "2022-06-06T09:00:00+07:00", category="other"),
        case.fact("approved", "i1", "2022-06-07T09:00:00+07:00"),
    ]  # fmt: skip
    found, fallback, _ = await fold_case(events)
    assert not fallback
    row = found.rows["i1"]
    assert (row.title, row.category, row.status) == ("Sửa", "other", "approved")
    assert row.first_submitted_at == dt.datetime(2022, 5, 31, 16, 59, 59, tzinfo=dt.UTC)
    assert (row.filed_unit_id, row.registered_at is not None) == ("g1", True)
    assert len(row.author_keys) == 2  # the same name however typed, and a member


async def test_a_withdrawal_counts_out_on_its_own_day() -> None:
    case = Case()
    events = [
        *case.world(),
        case.submitted("i1", "2022-05-31T20:00:00+07:00"),
        case.fact("withdrawn", "i1", "2022-06-01T01:00:00+07:00"),
        case.submitted("i2", "2022-06-01T08:00:00+07:00", unit_id="g2"),
        case.fact("withdrawn", "i2", "2022-06-01T09:00:00+07:00"),
    ]
    found, fallback, _ = await fold_case(events)
    assert not fallback
    series = found.deltas.tables[[a.name for a in AGGREGATES].index("series")]
    assert series[("p1", "c1", dt.date(2022, 6, 1))] == [-1 + 1 - 1, 0]


async def test_an_initiative_filed_under_a_merged_unit_counts_for_the_absorbing_one() -> None:
    case = Case()
    events = [
        *case.world(),
        case.ref("unit.merged", "2022-03-01T00:00:00+07:00", unit_id="g2", into_unit_id="g1"),
        case.submitted("i1", "2022-02-28T23:00:00+07:00", unit_id="g2"),
        case.submitted("i2", "2022-03-01T01:00:00+07:00", unit_id="g1"),
    ]
    found, fallback, _ = await fold_case(events)
    assert not fallback
    assert (found.rows["i1"].unit_id, found.rows["i2"].unit_id) == ("g2", "g1")


async def two_submissions(
    change: Callable[[StoredFact], StoredFact],
) -> tuple[Attribution, list[StoredFact]]:
    """Initiatives i1 and i2 submitted in a small world, the facts of i1 ``change``d."""
    case = Case()
    attribution, facts = await stored(
        [*case.world(), case.submitted("i1", "2022-02-01T10:00:00+07:00"),
         case.submitted("i2", "2022-02-01T11:00:00+07:00")]
    )  # fmt: skip
    return attribution, [change(f) if f.stream_id == "initiative-i1" else f for f in facts]


@pytest.mark.parametrize(
    ("change", "falls_back"),
    [
        (lambda f: f, False),
        (lambda f: f._replace(schema_version=1), True),
        (lambda f: f._replace(data=f.data.replace('"Sáng kiến i1"', '" Sáng kiến i1"')), True),
        (lambda f: f._replace(data=f.data.replace('"digital"', '"unheard of"')), True),
        (lambda f: f._replace(data=f.data.replace('"title"', '"title": 5, "x"')), True),
        (lambda f: f._replace(data=f.data.replace("{", "[", 1)), True),
        (lambda f: f._replace(type="initiative.discussed"), True),
        (lambda f: f._replace(data=f.data.replace('"g1"', '"nowhere"')), True),
    ],
)
async def test_what_it_cannot_read_exactly_falls_back(change: Any, falls_back: bool) -> None:
    attribution, facts = await two_submissions(change)
    fold = fold_columns(frame_of(facts), attribution, attribution.view.campaigns)
    assert fold.fallback == ({"initiative-i1"} if falls_back else set())
    assert set(fold.rows["initiative_id"]) == ({"i2"} if falls_back else {"i1", "i2"})
    assert set(fold.history["initiative_id"]) == set(fold.rows["initiative_id"])


async def test_a_transition_the_lifecycle_refuses_falls_back() -> None:
    case = Case()
    attribution, facts = await stored([*case.world(), case.submitted("i1", "2022-02-01T10:00:00Z")])
    approved = facts[0]._replace(
        stream_version=2,
        type="initiative.approved",
        schema_version=1,
        data='{"initiative_id": "i1"}',
    )
    twice = [*facts, approved, approved._replace(stream_version=3)]
    fold = fold_columns(frame_of(twice), attribution, attribution.view.campaigns)
    assert fold.fallback == {"initiative-i1"}
    with pytest.raises(InvalidTransition):
        fold_batch({}, twice, attribution)


@pytest.mark.parametrize(
    ("zone", "change"),
    [
        ("America/Santiago", "2022-04-03T03:00:00+00:00"),  # back to -4 at local midnight
        ("America/Santiago", "2022-09-11T04:00:00+00:00"),  # on to -3 at local midnight
        ("Australia/Lord_Howe", "2022-10-01T15:30:00+00:00"),  # half an hour into the hour
        ("Europe/Berlin", "2022-10-30T01:00:00+00:00"),
    ],
)
async def test_local_days_around_a_change_of_offset(zone: str, change: str) -> None:
    case = Case()
    world = case.world()
    world[0]["data"]["time_zone"] = zone
    middle = dt.datetime.fromisoformat(change)
    instants = [middle + dt.timedelta(minutes=m) for m in range(-181, 182, 17)]
    events = [
        *world,
        *(
            case.submitted(f"i{n}", at.isoformat(), unit_id=f"g{n % 2 + 1}")
            for n, at in enumerate(instants)
        ),
    ]
    _, fallback, expected = await fold_case(events)
    assert not fallback
    assert len(expected.rows) == len(instants)
