"""The projector's tables, live and rebuilt, equal a from-scratch reference model
(``tests/reference_model.py``).

Random portal streams (a small tree, membership, plans, initiatives with random lifecycles,
and moves, merges, closures, renames, level changes and replaced plans dated at random
instants among the initiatives, plus duplicates) go through ingest; the stored records then
reach the projector the way Kafka would deliver them: per-partition order only, random batch
cuts, redelivered batches, rewound partitions and restarts, with ingestion and projection
interleaved so that reference facts arrive before or after the initiatives they concern.
Whatever the delivery, the final tables, "as of" answers at random instants and a rebuild
must all be what the model computes from the stored events.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import tempfile
import zlib
from collections import deque
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.pipeline import IngestPipeline
from services.projector.api.queries import ReadModels
from services.projector.projection import Projection
from services.projector.rebuild import rebuild
from services.projector.schema import (
    STATUS_COLUMNS,
    rm_breakdowns,
    rm_closure,
    rm_initiative_authors,
    rm_initiatives,
    rm_lineage,
    rm_progress,
    rm_rollup_daily,
    rm_series_daily,
    rm_target_history,
    rm_targets,
)
from services.projector.targets import TARGET_COLUMNS
from shared.contracts.portal import RejectionCode
from shared.contracts.recorded import RecordedEvent
from shared.contracts.registry import CURRENT
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine
from shared.persistence.migrations import upgrade
from tests.reference_model import (
    STATUSES,
    SUBMITTED,
    Tables,
    differences,
    expected_tables,
    figures_as_of,
    fold_world,
)

CAMPAIGN = "c1"
Event = dict[str, Any]

# -- the read models as plain values --------------------------------------------------------


async def projected_tables(engine: AsyncEngine) -> Tables:
    """Every read-model table the model covers, zero rows dropped."""
    assert STATUS_COLUMNS == STATUSES

    async with engine.connect() as connection:

        async def rows(table: sa.Table) -> list[sa.RowMapping]:
            return list((await connection.execute(sa.select(table))).mappings())

        initiatives = {
            r["initiative_id"]: (
                r["campaign_id"],
                r["unit_id"],
                r["filed_unit_id"],
                r["attributed_at"],
                r["status"],
                r["title"],
                r["category"],
                r["solution_type"],
                tuple(r["author_types"]),
                tuple(r["author_keys"]),
                r["bucket_date"],
                r["approved_on"],
                r["withdrawn_on"],
                r["registered_at"],
                r["first_submitted_at"],
                r["approved_at"],
                r["rejected_at"],
                r["recognized_at"],
                r["withdrawn_at"],
                r["updated_at"],
            )
            for r in await rows(rm_initiatives)
        }
        closure = {
            (r["ancestor_id"], r["descendant_id"], r["depth"]) for r in await rows(rm_closure)
        }
        lineage = {
            (r["ancestor_id"], r["descendant_id"], r["depth"], r["valid_from"], r["valid_to"])
            for r in await rows(rm_lineage)
        }

        def counts(
            found: list[sa.RowMapping], keys: Sequence[str], columns: Sequence[str]
        ) -> dict[Any, tuple[int, ...]]:
            table = {tuple(r[k] for k in keys): tuple(r[c] for c in columns) for r in found}
            return {key: value for key, value in table.items() if any(value)}

        unit_campaign = ("unit_id", "campaign_id")
        metrics = ("submitted", "approved")
        targets = {
            (r["unit_id"], r["campaign_id"], r["phase_id"]): tuple(r[c] for c in TARGET_COLUMNS)
            for r in await rows(rm_targets)
        }
        target_history = {
            (r["unit_id"], r["campaign_id"], r["phase_id"], r["valid_from"]): (
                r["valid_to"],
                r["listed"],
                *(r[c] for c in TARGET_COLUMNS),
            )
            for r in await rows(rm_target_history)
        }
        return Tables(
            initiatives=initiatives,
            closure=closure,
            lineage=lineage,
            rollup=counts(await rows(rm_rollup_daily), (*unit_campaign, "bucket_date"), STATUSES),
            progress=counts(await rows(rm_progress), (*unit_campaign, "phase_id"), STATUSES),
            targets=targets,
            target_history=target_history,
            series=counts(await rows(rm_series_daily), (*unit_campaign, "day"), metrics),
            breakdowns=counts(
                await rows(rm_breakdowns), (*unit_campaign, "dimension", "value"), metrics
            ),
            authors={
                (r["initiative_id"], r["author_key"]) for r in await rows(rm_initiative_authors)
            },
            progress_authors={
                (r["unit_id"], r["campaign_id"], r["phase_id"]): r["authors"]
                for r in await rows(rm_progress)
                if r["authors"]
            },
        )


async def assert_matches_reference(engine: AsyncEngine, records: Sequence[RecordedEvent]) -> Tables:
    """Compare every table with the model; returns the projector's tables."""
    expected = expected_tables(records)
    actual = await projected_tables(engine)
    diff = differences(actual, expected)
    assert not diff, _render(diff)
    return actual


def _render(diff: dict[str, dict[str, object]]) -> str:
    lines = ["the projector disagrees with the reference model:"]
    for table, parts in diff.items():
        for label, rows in parts.items():
            if rows:
                lines.append(f"  {table}, {label}: {rows}")
    return "\n".join(lines)


# -- portal events ----------------------------------------------------------------------------


class Builder:
    """Portal events with ids numbered per scenario (so a failing example reads well)."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)

    def event(
        self, event_type: str, data: dict[str, Any], at: str, version: int | None = None
    ) -> Event:
        return {
            "event_id": f"e{next(self._ids)}",
            "type": event_type,
            "schema_version": version or CURRENT.model_for(event_type).schema_version,
            "occurred_at": at,
            "source": "test-portal",
            "data": data,
        }

    def ref(self, event_type: str, at: str = "2022-01-01T00:00:00+07:00", **data: Any) -> Event:
        return self.event(event_type, data, at)

    def unit(self, unit_id: str, parent_id: str | None, level: str) -> Event:
        data = {"unit_id": unit_id, "name": f"Đơn vị {unit_id}", "parent_id": parent_id}
        return self.ref("unit.registered", level=level, **data)

    def plan(
        self, unit_id: str, phases: Sequence[tuple[str, dt.date, dt.date]], targets: list[Event]
    ) -> Event:
        return self.ref(
            "plan.set",
            campaign_id=CAMPAIGN,
            unit_id=unit_id,
            phases=[
                {"phase_id": p, "name": f"Giai đoạn {p}", "starts_on": str(s), "ends_on": str(e)}
                for p, s, e in phases
            ],
            targets=targets,
        )

    def fact(
        self, event_type: str, initiative_id: str, at: str, version: int | None = None, **data: Any
    ) -> Event:
        data = {"initiative_id": initiative_id, **data}
        return self.event(f"initiative.{event_type}", data, at, version)


def describe(event: Event) -> str:
    data = {k: v for k, v in event["data"].items() if k not in ("name", "summary")}
    return f"{event['event_id']} {event['type']} {data} at {event['occurred_at']}"


# -- strategies -------------------------------------------------------------------------------

ZONES = ("Asia/Ho_Chi_Minh", "Asia/Ho_Chi_Minh", "Asia/Ho_Chi_Minh", "Europe/Berlin")
BOUNDARIES = (
    dt.date(2022, 3, 31),
    dt.date(2022, 5, 31),
    dt.date(2022, 8, 31),
    dt.date(2022, 10, 31),
)
FIRST_DAY, LAST_DAY = dt.date(2022, 1, 1), dt.date(2022, 12, 31)
EDGE_DAYS = (
    dt.date(2021, 12, 31),
    FIRST_DAY,
    LAST_DAY,
    dt.date(2023, 1, 1),
    *(b + dt.timedelta(days=d) for b in BOUNDARIES for d in (-1, 0, 1, 2)),
)
LOCAL_TIMES = tuple(
    dt.time(*hms)
    for hms in ((0, 0, 0), (0, 0, 1), (0, 30), (6, 59, 59), (7, 0), (12, 0), (23, 0), (23, 59, 59))
)
OFFSETS = tuple(dt.timedelta(minutes=m) for m in (-720, -300, -210, 0, 60, 330, 420, 540, 840))
NEXT = {
    None: ("submitted",),
    "registered": ("submitted", "submitted", "withdrawn"),
    "under_review": (
        "revision_requested",
        "approved",
        "approved",
        "rejected",
        "withdrawn",
        "updated",
    ),
    "revision_requested": ("resubmitted", "resubmitted", "withdrawn", "updated"),
    "approved": ("recognized",),
}
"""Valid next steps (weighted by repetition); other steps are drawn now and then on purpose."""
ANY_STEP = (
    "registered",
    "submitted",
    "revision_requested",
    "resubmitted",
    "approved",
    "rejected",
    "recognized",
    "withdrawn",
    "updated",
)
STATUS_OF: dict[str, str | None] = {
    "registered": "registered",
    "submitted": "under_review",
    "resubmitted": "under_review",
    "revision_requested": "revision_requested",
    "approved": "approved",
    "rejected": "rejected",
    "recognized": "recognized",
    "withdrawn": "withdrawn",
    "updated": None,
}
V1_CATEGORIES = ("covid-19", "Năng suất", "cải cách", "Sáng kiến khác")
"""Free text as v1 portals sent it: three known spellings and one upcast to ``other``."""
V1_AUTHOR_TYPES = ("member", "union_official", "worker", "manager", "other")
AUTHOR_TYPES = (*V1_AUTHOR_TYPES, "civil_servant", "public_employee")
CATEGORIES = ("covid19", "productivity", "union_work", "other")


@st.composite
def _details(draw: st.DrawFn, version: int) -> dict[str, Any]:
    """A submission's (v1 or v2) or an update's details: a category, a solution type and
    authors, some of them the same member in several initiatives."""
    kinds = V1_AUTHOR_TYPES if version == 1 else AUTHOR_TYPES
    authors = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=3))
    members = st.sampled_from(["m1", "m2", "m3", None])
    return {
        "category": draw(st.sampled_from(V1_CATEGORIES if version == 1 else CATEGORIES)),
        "solution_type": draw(st.sampled_from(["technical", "management", "research"])),
        "authors": [
            {"name": f"Tác giả {n}", "member_id": draw(members), "author_type": a}
            for n, a in enumerate(authors)
        ],
    }


class Scenario:
    """Portal events in the order portals send them; ``cuts`` split them into ingest calls."""

    def __init__(self, events: list[Event], cuts: list[int]) -> None:
        self.events = events
        self.cuts = cuts

    def segments(self) -> list[list[Event]]:
        bounds = [0, *self.cuts, len(self.events)]
        return [self.events[a:b] for a, b in itertools.pairwise(bounds) if b > a]

    def __repr__(self) -> str:
        lines = [describe(e) for e in self.events]
        return f"Scenario(cuts={self.cuts}, events=[\n  " + "\n  ".join(lines) + "\n])"


def _instant(day: dt.date, time: dt.time, zone: ZoneInfo, offset: dt.timedelta) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=zone).astimezone(dt.timezone(offset))


@st.composite
def _target(draw: st.DrawFn, phase_id: str | None, applies_to: str) -> Event:
    if draw(st.booleans()):
        kind, value = "count", str(draw(st.integers(1, 12)))
    else:
        kind, value = "ratio_of_members", draw(st.sampled_from(["0.05", "0.1", "0.3", "0.07"]))
    metric = draw(st.sampled_from(["submitted", "submitted", "approved"]))
    return {
        "phase_id": phase_id,
        "kind": kind,
        "value": value,
        "metric": metric,
        "applies_to": applies_to,
    }


@st.composite
def _plan(draw: st.DrawFn, events: Builder, unit_id: str, version: int) -> Event:
    count = draw(st.integers(2, 3))
    ends = sorted(
        draw(
            st.lists(
                st.sampled_from(BOUNDARIES), min_size=count - 1, max_size=count - 1, unique=True
            )
        )
    )
    starts = [FIRST_DAY]
    for end in ends:
        starts.append(end + dt.timedelta(days=draw(st.sampled_from([1, 1, 1, 3]))))
    windows = list(zip(starts, [*ends, LAST_DAY], strict=True))
    phases = [(f"{unit_id}-{version}{n}", s, e) for n, (s, e) in enumerate(windows, 1)]
    targets = []
    for phase_id in [p for p, _, _ in phases] + [None]:
        for applies_to in ("self", "children", "descendants"):
            if draw(st.integers(0, 9)) < (6 if applies_to == "self" else 2):
                targets.append(draw(_target(phase_id, applies_to)))
    return events.plan(unit_id, phases, targets)


@st.composite
def _lifecycle(
    draw: st.DrawFn,
    events: Builder,
    initiative_id: str,
    units: Sequence[str],
    zone: ZoneInfo,
) -> list[Event]:
    day = draw(
        st.one_of(
            st.sampled_from(EDGE_DAYS),
            st.dates(dt.date(2021, 12, 20), dt.date(2023, 1, 10)),
        )
    )
    at = _instant(day, draw(st.sampled_from(LOCAL_TIMES)), zone, dt.timedelta())

    def stamp() -> str:
        return at.astimezone(dt.timezone(draw(st.sampled_from(OFFSETS)))).isoformat()

    unit = draw(st.sampled_from(units))
    facts: list[Event] = []
    status: str | None = None
    if draw(st.booleans()):
        reg_at = at - dt.timedelta(minutes=draw(st.integers(1, 3 * 24 * 60)))
        offset = dt.timezone(draw(st.sampled_from(OFFSETS)))
        facts.append(
            events.fact(
                "registered",
                initiative_id,
                reg_at.astimezone(offset).isoformat(),
                campaign_id=CAMPAIGN,
                unit_id=unit,
                title=f"Đăng ký {initiative_id}",
            )
        )
        status = "registered"
    for _ in range(draw(st.integers(0 if status else 1, 5))):
        if draw(st.integers(0, 9)) == 0 or status not in NEXT:
            step = draw(st.sampled_from(ANY_STEP))
        else:
            step = draw(st.sampled_from(NEXT[status]))
        if step == "submitted" and draw(st.integers(0, 3)) == 0:
            unit = draw(st.sampled_from(units))
        data: dict[str, Any] = {}
        if step in ("registered", "submitted"):
            data = {"campaign_id": CAMPAIGN, "unit_id": unit, "title": f"Sáng kiến {initiative_id}"}
        version = None
        if step == "submitted":
            version = draw(st.sampled_from([1, 2]))
            data |= draw(_details(version))
        elif step == "updated":
            given = draw(
                st.sets(st.sampled_from(["title", "category", "authors", "solution_type"]))
            )
            details = draw(_details(2)) | {"title": f"Sáng kiến {initiative_id} (cập nhật)"}
            data = {key: details[key] for key in given or {"category"}}
        elif step == "resubmitted" and draw(st.booleans()):
            data = {"title": f"Sáng kiến {initiative_id} (sửa)"}
        elif step == "rejected":
            data = {"reason": "Không hợp lệ"}
        elif step == "recognized":
            data = {"award_level": "cấp tỉnh"}
        facts.append(events.fact(step, initiative_id, stamp(), version, **data))
        if step in NEXT.get(status, ()) or (status is None and step == "submitted"):
            status = STATUS_OF[step] or status
        at += dt.timedelta(minutes=draw(st.integers(1, 60 * 24 * 60)))
    return facts


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    events = Builder()
    zone_name = draw(st.sampled_from(ZONES))
    zone = ZoneInfo(zone_name)
    provinces = ["p1", "p2"]
    districts = [f"d{n}" for n in range(1, draw(st.integers(2, 3)) + 1)]
    grassroots = [f"g{n}" for n in range(1, draw(st.integers(4, 6)) + 1)]
    parents = {"p1": "vn", "p2": "vn", "d1": "p1", "d2": "p2"}
    for unit in districts[2:]:
        parents[unit] = draw(st.sampled_from(provinces))
    for unit in grassroots:
        parents[unit] = draw(st.sampled_from(districts if draw(st.integers(0, 4)) else provinces))
    level = {"vn": "national", **dict.fromkeys(provinces, "province")}
    level |= dict.fromkeys(districts, "district") | dict.fromkeys(grassroots, "grassroots")
    initial = [
        events.ref("campaign.defined", campaign_id=CAMPAIGN, name="1 triệu", time_zone=zone_name),
        events.unit("vn", None, "national"),
        *(events.unit(u, parents[u], level[u]) for u in [*provinces, *districts, *grassroots]),
    ]
    all_units = ["vn", *provinces, *districts, *grassroots]
    later: list[Event] = []

    def when() -> str:
        """An instant among the initiatives' (reference facts take effect at their own)."""
        day = draw(st.one_of(st.sampled_from(EDGE_DAYS), st.dates(FIRST_DAY, LAST_DAY)))
        return _instant(day, draw(st.sampled_from(LOCAL_TIMES)), zone, dt.timedelta()).isoformat()

    def membership(unit: str) -> Event:
        return events.ref(
            "unit.membership_reported",
            unit_id=unit,
            members=draw(st.integers(0, 400)),
            as_of=str(draw(st.sampled_from([dt.date(2021, 12, 31), *BOUNDARIES[:2]]))),
        )

    for unit in all_units:
        if draw(st.integers(0, 9)) < (1 if unit in ("vn", *provinces) else 5):
            (later if draw(st.integers(0, 3)) == 0 else initial).append(membership(unit))
    planners = draw(
        st.lists(
            st.sampled_from(["vn", *provinces, *districts]), min_size=1, max_size=2, unique=True
        )
    )
    for n, unit in enumerate(planners):
        plan = draw(_plan(events, unit, 1))
        (later if n and draw(st.booleans()) else initial).append(plan)
    if draw(st.integers(0, 3)) == 0:
        replacement = draw(_plan(events, draw(st.sampled_from(planners)), 2))
        later.append(replacement | {"occurred_at": when()} if draw(st.booleans()) else replacement)
    for _ in range(draw(st.integers(0, 2))):
        if draw(st.booleans()):
            unit, parent = draw(st.sampled_from(districts)), draw(st.sampled_from(provinces))
        else:
            unit, parent = draw(st.sampled_from(grassroots)), draw(st.sampled_from(districts))
        later.append(events.ref("unit.moved", when(), unit_id=unit, new_parent_id=parent))
    for _ in range(draw(st.integers(0, 2))):
        group = draw(st.sampled_from([grassroots, grassroots, districts, districts, provinces]))
        absorbed, into = draw(st.lists(st.sampled_from(group), min_size=2, max_size=2, unique=True))
        later.append(events.ref("unit.merged", when(), unit_id=absorbed, into_unit_id=into))
    if draw(st.booleans()):
        closed = draw(st.sampled_from([*grassroots, *districts]))
        later.append(events.ref("unit.closed", when(), unit_id=closed, reason="giải thể"))
    if draw(st.integers(0, 3)) == 0:
        renamed = draw(st.sampled_from(all_units))
        later.append(events.ref("unit.renamed", when(), unit_id=renamed, name=f"Mới {renamed}"))
    if draw(st.integers(0, 3)) == 0:
        changed, level = draw(
            st.sampled_from([(g, "district") for g in grassroots] + [("d1", "grassroots")])
        )
        later.append(events.ref("unit.level_changed", when(), unit_id=changed, level=level))
    if draw(st.integers(0, 3)) == 0:
        later.append(events.unit("g9", draw(st.sampled_from(districts)), "grassroots"))
        all_units.append("g9")
        if draw(st.booleans()):
            later.append(membership("g9"))

    filing = [*grassroots, *grassroots, *grassroots, *districts, *provinces]
    keyed: list[tuple[int, Event]] = [(-1, e) for e in initial]
    for n in range(1, draw(st.integers(5, 30)) + 1):
        units = [*filing, "g9"] if "g9" in all_units else filing
        key = draw(st.integers(0, 1000))
        for fact in draw(_lifecycle(events, f"i{n}", units, zone)):
            keyed.append((key, fact))
            key += draw(st.integers(0, 300))
    keyed += [(draw(st.integers(0, 1500)), e) for e in later]
    ordered = [e for _, e in sorted(keyed, key=lambda pair: pair[0])]
    for _ in range(draw(st.integers(0, 5))):
        original = draw(st.integers(0, len(ordered) - 1))
        ordered.insert(draw(st.integers(original + 1, len(ordered))), ordered[original])
    cuts = draw(st.lists(st.integers(1, len(ordered) - 1), max_size=4, unique=True))
    return Scenario(ordered, sorted(cuts))


# -- delivery ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated database, copied for every example (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("reference") / "template.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    await engine.dispose()
    return path


@pytest.fixture
async def engine(template: Path, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    path = tmp_path / "initiatives.db"
    shutil.copyfile(template, path)
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    yield engine
    await engine.dispose()


CONTRACT_CODES = {code.value for code in RejectionCode}
EVENTFUL = {
    "unit.moved",
    "unit.merged",
    "unit.closed",
    "unit.renamed",
    "unit.level_changed",
    "initiative.withdrawn",
}


async def ingest(pipeline: IngestPipeline, events: Sequence[Event]) -> None:
    verdicts = await pipeline.submit(list(events))
    broken = [v for v in verdicts if v.code in CONTRACT_CODES]
    assert not broken, f"the generator built events the contract refuses: {broken}"
    for verdict in verdicts:
        if verdict.status not in ("accepted", "duplicate"):
            note(f"ingest {verdict.status} {verdict.event_id}: {verdict.code}")
        elif verdict.status == "accepted" and verdict.type in EVENTFUL:
            event(f"accepted {verdict.type}")


async def deliver_like_kafka(
    engine: AsyncEngine, store: SqlEventStore, scenario: Scenario, data: st.DataObject
) -> list[RecordedEvent]:
    """Ingest segment by segment and project what is stored, in random partitioned batches."""
    pipeline = IngestPipeline(store)
    projection = Projection(engine, store)
    await projection.start()
    partitions = data.draw(st.integers(1, 3), label="partitions")
    queues: list[deque[RecordedEvent]] = [deque() for _ in range(partitions)]
    delivered: list[list[RecordedEvent]] = [[] for _ in range(partitions)]
    batches: list[list[RecordedEvent]] = []
    segments = scenario.segments()
    stored: list[RecordedEvent] = []
    extras = 6
    while segments or any(queues):
        ops = ["ingest"] if segments else []
        if any(queues):
            ops += ["deliver"] * 3
        if extras and batches:
            ops += ["redeliver", "restart"]
        if extras and any(delivered):
            ops.append("rewind")
        op = data.draw(st.sampled_from(ops), label="op")
        if op == "ingest":
            await ingest(pipeline, segments.pop(0))
            after = stored[-1].position if stored else 0
            fresh = [r async for r in store.read_all(after=after)]
            stored += fresh
            for record in fresh:
                queues[zlib.crc32(record.stream_id.encode()) % partitions].append(record)
            continue
        if op == "deliver":
            batch = []
            for _ in range(data.draw(st.integers(1, 12), label="batch size")):
                open_partitions = [k for k in range(partitions) if queues[k]]
                if not open_partitions:
                    break
                k = data.draw(st.sampled_from(open_partitions), label="partition")
                batch.append(queues[k].popleft())
                delivered[k].append(batch[-1])
            batches.append(batch)
            await projection.apply(batch)
            continue
        extras -= 1
        if op == "redeliver":
            index = data.draw(st.integers(0, len(batches) - 1), label="redelivered batch")
            await projection.apply(batches[index])
        elif op == "rewind":
            k = data.draw(st.sampled_from([k for k in range(partitions) if delivered[k]]))
            back = data.draw(st.integers(1, min(5, len(delivered[k]))), label="rewind")
            for _ in range(back):
                queues[k].appendleft(delivered[k].pop())
        else:
            projection = Projection(engine, store)
            await projection.start()
    return stored


# -- the property -----------------------------------------------------------------------------


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario=scenarios(), data=st.data())
async def test_projected_tables_equal_the_reference_model(
    template: Path, scenario: Scenario, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "initiatives.db"
        shutil.copyfile(template, path)
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            store = SqlEventStore(engine, outbox=False)
            records = await deliver_like_kafka(engine, store, scenario, data)
            tables = await assert_matches_reference(engine, records)
            await assert_as_of_matches_reference(engine, records, tables, data)
            batch = data.draw(st.integers(1, 50), label="rebuild batch size")
            await rebuild(f"sqlite+aiosqlite:///{path}", batch_size=batch)
            assert await assert_matches_reference(engine, records) == tables
        finally:
            await engine.dispose()


async def assert_as_of_matches_reference(
    engine: AsyncEngine, records: Sequence[RecordedEvent], tables: Tables, data: st.DataObject
) -> None:
    """ "As of" answers at random instants, for random units, equal the model's."""
    world = fold_world(records)
    read = ReadModels(engine)
    for _ in range(3):
        day = data.draw(st.one_of(st.sampled_from(EDGE_DAYS), st.dates(FIRST_DAY, LAST_DAY)))
        at = _instant(day, data.draw(st.sampled_from(LOCAL_TIMES)), HCM, dt.timedelta())
        unit_id = data.draw(st.sampled_from(world.units), label="as of unit")
        found = {
            f.phase_id: (
                tuple(getattr(f, column) for column in TARGET_COLUMNS),
                tuple(f.counts[status] for status in STATUSES),
            )
            for f in await read.phases(unit_id, CAMPAIGN, as_of=at)
        }
        expected = figures_as_of(world, tables, unit_id, CAMPAIGN, at)
        assert found == expected, f"{unit_id} as of {at.isoformat()}"


# -- notable cases, one by one -----------------------------------------------------------------

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


class Case(Builder):
    """Events of a hand-written case: the campaign in Hà Nội time, count targets by default."""

    def tree(self, *units: tuple[str, str | None, str]) -> list[Event]:
        campaign = self.ref("campaign.defined", campaign_id=CAMPAIGN, name="1 triệu")
        return [campaign, *(self.unit(u, parent, level) for u, parent, level in units)]

    def submitted(self, initiative_id: str, unit_id: str, local: str) -> Event:
        at = dt.datetime.fromisoformat(local).replace(tzinfo=HCM)
        return self.fact(
            "submitted",
            initiative_id,
            at.isoformat(),
            campaign_id=CAMPAIGN,
            unit_id=unit_id,
            title=f"Sáng kiến {initiative_id}",
            category="productivity",
            solution_type="technical",
            authors=[{"name": "Tác giả", "author_type": "worker"}],
        )

    def registered(self, initiative_id: str, unit_id: str, local: str) -> Event:
        at = dt.datetime.fromisoformat(local).replace(tzinfo=HCM)
        return self.fact(
            "registered",
            initiative_id,
            at.isoformat(),
            campaign_id=CAMPAIGN,
            unit_id=unit_id,
            title=f"Đăng ký {initiative_id}",
        )

    def approved(self, initiative_id: str, local: str) -> Event:
        at = dt.datetime.fromisoformat(local).replace(tzinfo=HCM)
        return self.fact("approved", initiative_id, at.isoformat())

    def members(self, unit_id: str, members: int, as_of: str = "2021-12-31") -> Event:
        return self.ref("unit.membership_reported", unit_id=unit_id, members=members, as_of=as_of)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


TWO_HALVES = [("h1", d("2022-01-01"), d("2022-05-31")), ("h2", d("2022-06-01"), d("2022-12-31"))]
QUARTER_AND_REST = [
    ("q1", d("2022-01-01"), d("2022-03-31")),
    ("q2", d("2022-04-01"), d("2022-12-31")),
]


def count(phase_id: str | None, value: int, applies_to: str = "self") -> Event:
    return {"phase_id": phase_id, "kind": "count", "value": str(value), "applies_to": applies_to}


def ratio(phase_id: str | None, value: str, applies_to: str = "self") -> Event:
    return {
        "phase_id": phase_id,
        "kind": "ratio_of_members",
        "value": value,
        "applies_to": applies_to,
    }


async def project_in_steps(engine: AsyncEngine, *steps: list[Event]) -> Tables:
    """Ingest each step (all must be accepted), project what it stored, then compare with
    the model; returns the projector's tables."""
    store = SqlEventStore(engine, outbox=False)
    pipeline = IngestPipeline(store)
    projection = Projection(engine, store)
    await projection.start()
    records: list[RecordedEvent] = []
    for step in steps:
        verdicts = await pipeline.submit(step)
        assert {v.status for v in verdicts} == {"accepted"}, verdicts
        fresh = [r async for r in store.read_all(after=records[-1].position if records else 0)]
        records += fresh
        await projection.apply(fresh)
    return await assert_matches_reference(engine, records)


def submitted_by_phase(tables: Tables, unit_id: str) -> dict[str, int]:
    """phase_id → submitted count of ``unit_id`` (rows with nothing submitted left out)."""
    found = {}
    for (unit, _, phase_id), counts in tables.progress.items():
        value = sum(n for status, n in zip(STATUSES, counts, strict=True) if status in SUBMITTED)
        if unit == unit_id and value:
            found[phase_id] = value
    return found


def required(tables: Tables, unit_id: str) -> dict[str, tuple[object, object]]:
    """phase_id → (required, members) of ``unit_id``'s targets."""
    return {
        phase_id: (row[6], row[7])
        for (unit, _, phase_id), row in tables.targets.items()
        if unit == unit_id
    }


async def test_a_merged_unit_s_initiatives_and_children_count_for_the_target(
    engine: AsyncEngine,
) -> None:
    case = Case()
    before = [
        *case.tree(
            ("vn", None, "national"),
            ("p1", "vn", "province"),
            ("d1", "p1", "district"),
            ("d2", "p1", "district"),
            ("g1", "d1", "grassroots"),
            ("g2", "d2", "grassroots"),
        ),
        case.plan("d2", TWO_HALVES, [count("h1", 3), count("h2", 5), count(None, 8)]),
        case.submitted("i1", "d1", "2022-05-31T23:59:59"),
        case.submitted("i2", "g1", "2022-06-01T00:00:00"),
        case.submitted("i3", "g2", "2022-02-01T09:00:00"),
    ]
    merge = [case.ref("unit.merged", unit_id="d1", into_unit_id="d2")]
    after = [case.approved("i1", "2022-07-01T10:00:00")]

    tables = await project_in_steps(engine, before, merge, after)

    assert submitted_by_phase(tables, "d2") == {"h1": 2, "h2": 1, "": 3}
    assert required(tables, "d2") == {"h1": (3, None), "h2": (5, None), "": (8, None)}
    assert tables.initiatives["i1"][1] == "d2"
    assert {(a, depth) for a, g, depth in tables.closure if g == "g1"} == {
        ("g1", 0),
        ("d2", 1),
        ("p1", 2),
        ("vn", 3),
    }
    # d2 counts its own approval on read, from the row's local day; p1 keeps it.
    assert tables.initiatives["i1"][11] == d("2022-07-01")
    assert tables.series[("p1", CAMPAIGN, d("2022-07-01"))] == (0, 1)
    assert tables.rollup[("p1", CAMPAIGN, d("2022-05-31"))][STATUSES.index("approved")] == 1


async def test_moving_a_district_to_another_province_recounts_it_in_that_province_s_phases(
    engine: AsyncEngine,
) -> None:
    case = Case()
    before = [
        *case.tree(
            ("vn", None, "national"),
            ("p1", "vn", "province"),
            ("p2", "vn", "province"),
            ("d1", "p1", "district"),
            ("g1", "d1", "grassroots"),
        ),
        case.plan("p1", TWO_HALVES, [count("h1", 10)]),
        case.plan("p2", QUARTER_AND_REST, [count("q1", 4)]),
        case.submitted("i1", "g1", "2022-03-15T10:00:00"),
        case.submitted("i2", "g1", "2022-05-15T10:00:00"),
        case.submitted("i3", "d1", "2022-06-10T10:00:00"),
    ]
    move = [case.ref("unit.moved", unit_id="d1", new_parent_id="p2")]

    tables = await project_in_steps(engine, before, move)

    assert submitted_by_phase(tables, "p1") == {}
    assert submitted_by_phase(tables, "p2") == {"q1": 1, "q2": 2, "": 3}
    assert submitted_by_phase(tables, "d1") == {"q1": 1, "q2": 2, "": 3}
    assert submitted_by_phase(tables, "g1") == {"q1": 1, "q2": 1, "": 2}
    assert {(a, depth) for a, g, depth in tables.closure if g == "g1"} == {
        ("g1", 0),
        ("d1", 1),
        ("p2", 2),
        ("vn", 3),
    }


async def test_a_plan_set_after_initiatives_were_projected_resums_progress_into_its_phases(
    engine: AsyncEngine,
) -> None:
    case = Case()
    initiatives = [
        *case.tree(("vn", None, "national"), ("p1", "vn", "province"), ("g1", "p1", "grassroots")),
        case.submitted("i1", "g1", "2022-03-31T23:59:59"),
        case.submitted("i2", "g1", "2022-04-01T00:00:00"),
        case.submitted("i3", "g1", "2022-06-01T00:00:00"),
        case.registered("i4", "g1", "2022-01-05T08:00:00"),
    ]
    first_plan = [case.plan("p1", TWO_HALVES, [count("h1", 2)])]
    second_plan = [case.plan("p1", QUARTER_AND_REST, [count("q2", 2)])]

    tables = await project_in_steps(engine, initiatives)
    assert tables.progress == {}

    tables = await project_in_steps(engine, first_plan)
    assert submitted_by_phase(tables, "p1") == {"h1": 2, "h2": 1, "": 3}
    assert submitted_by_phase(tables, "g1") == {"h1": 2, "h2": 1, "": 3}
    assert tables.progress[("p1", CAMPAIGN, "h1")][STATUSES.index("registered")] == 1

    tables = await project_in_steps(engine, second_plan)
    assert submitted_by_phase(tables, "p1") == {"q1": 1, "q2": 2, "": 3}
    assert required(tables, "g1") == {"q1": (None, None), "q2": (None, None), "": (None, None)}


async def test_membership_reported_after_a_ratio_target_makes_the_target_appear(
    engine: AsyncEngine,
) -> None:
    case = Case()
    plan = [
        *case.tree(
            ("vn", None, "national"),
            ("p1", "vn", "province"),
            ("d1", "p1", "district"),
            ("d2", "p1", "district"),
        ),
        case.plan("p1", TWO_HALVES, [ratio("h1", "0.05"), ratio("h1", "0.3", "children")]),
        case.submitted("i1", "d1", "2022-02-01T10:00:00"),
    ]
    members = [case.members("d1", 40), case.members("d2", 13, as_of="2022-05-01")]

    tables = await project_in_steps(engine, plan)
    assert required(tables, "p1")["h1"] == (None, None)
    assert required(tables, "d1")["h1"] == (None, None)

    tables = await project_in_steps(engine, members)
    assert required(tables, "p1")["h1"] == (3, 53)
    assert required(tables, "d1")["h1"] == (12, 40)
    assert required(tables, "d2")["h1"] == (4, 13)
    assert submitted_by_phase(tables, "p1") == {"h1": 1, "": 1}


# -- discrepancies found by the property (minimal cases) ----------------------------------------


async def test_an_initiative_filed_under_a_unit_merged_before_projection_counts_for_the_target(
    engine: AsyncEngine,
) -> None:
    """rm_initiatives.unit_id must name the unit it counts for: the API lists a subtree's
    initiatives by joining it with rm_closure, where a merged unit has no ancestors."""
    case = Case()
    tree = case.tree(
        ("vn", None, "national"), ("g1", "vn", "grassroots"), ("g2", "vn", "grassroots")
    )
    events = [
        *tree,
        case.submitted("i1", "g1", "2022-02-01T10:00:00"),
        case.ref("unit.merged", unit_id="g1", into_unit_id="g2"),
    ]

    tables = await project_in_steps(engine, events)

    assert tables.initiatives["i1"][1] == "g2"


async def test_closing_a_unit_refreshes_the_ratio_targets_of_its_ancestors(
    engine: AsyncEngine,
) -> None:
    """A closed child's members no longer count for its parent (``Hierarchy.members_on``)."""
    case = Case()
    before = [
        *case.tree(
            ("vn", None, "national"), ("g1", "vn", "grassroots"), ("g2", "vn", "grassroots")
        ),
        case.plan("vn", TWO_HALVES, [ratio(None, "0.1")]),
        case.members("g1", 100),
        case.members("g2", 50),
    ]
    close = [case.ref("unit.closed", unit_id="g2", reason="giải thể")]

    tables = await project_in_steps(engine, before, close)

    assert required(tables, "vn")[""] == (10, 100)


async def test_a_merged_unit_keeps_only_its_own_closure_row_when_its_former_parent_merges(
    engine: AsyncEngine,
) -> None:
    """The projector unlinks a merged unit from its ancestors; merging (or moving) its former
    parent later must not link it again (the hierarchy still lists it as a child there)."""
    case = Case()
    before = [
        *case.tree(
            ("vn", None, "national"),
            ("p1", "vn", "province"),
            ("p2", "vn", "province"),
            ("g1", "p1", "grassroots"),
            ("g2", "p1", "grassroots"),
        ),
        case.ref("unit.merged", unit_id="g1", into_unit_id="g2"),
    ]
    later = [case.ref("unit.merged", unit_id="p1", into_unit_id="p2")]

    await project_in_steps(engine, before, later)

    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(rm_closure.c.ancestor_id, rm_closure.c.depth).where(
                rm_closure.c.descendant_id == "g1"
            )
        )
        assert set(rows.all()) == {("g1", 0)}
