"""The projector turns stored events into progress per unit and phase, counting every
initiative once for its unit and each ancestor, in the phase of that ancestor's plan."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.ingest.pipeline import IngestPipeline
from services.projector.api.queries import ReadModels
from services.projector.projection import Projection
from services.projector.schema import (
    rm_breakdowns,
    rm_closure,
    rm_progress,
    rm_rollup_daily,
    rm_series_daily,
    rm_targets,
)
from services.samples.portal_events import (
    AUTHOR,
    CAMPAIGN,
    membership,
    plan_set,
    reviewed,
    small_tree,
    submitted,
    unit_moved,
    unit_registered,
    updated,
)
from shared.contracts.campaigns import Metric
from shared.contracts.recorded import RecordedEvent
from shared.eventstore.sql import SqlEventStore
from shared.persistence.engine import create_engine

BK_PLAN = plan_set(
    "bk",
    [("bk-1", "2022-01-01", "2022-05-31"), ("bk-2", "2022-06-01", "2022-12-31")],
    [
        {"phase_id": "bk-1", "kind": "ratio_of_members", "value": "0.05"},
        {"phase_id": "bk-2", "kind": "ratio_of_members", "value": "0.04"},
        {"phase_id": None, "kind": "ratio_of_members", "value": "0.15"},
    ],
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def ingest_and_project(
    engine: AsyncEngine, events: list[dict[str, Any]], projection: Projection | None = None
) -> tuple[Projection, list[RecordedEvent]]:
    store = SqlEventStore(engine, outbox=False)
    verdicts = await IngestPipeline(store).submit(events)
    assert {v.status for v in verdicts} <= {"accepted", "duplicate"}, verdicts
    projection = projection or Projection(engine, store)
    if projection.view.version == 0:
        await projection.start()
    records = [r async for r in store.read_all()]
    await projection.apply(records)
    return projection, records


async def progress(engine: AsyncEngine, unit_id: str) -> dict[str, tuple[int, int | None]]:
    """phase_id → (submitted value, required target)."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(rm_targets.c.phase_id, rm_targets.c.required, rm_progress)
            .select_from(
                rm_targets.outerjoin(
                    rm_progress,
                    sa.and_(
                        rm_progress.c.unit_id == rm_targets.c.unit_id,
                        rm_progress.c.phase_id == rm_targets.c.phase_id,
                    ),
                )
            )
            .where(rm_targets.c.unit_id == unit_id)
        )
        return {
            row.phase_id: (
                sum(row._mapping[c] or 0 for c in ("under_review", "approved", "rejected")),
                row.required,
            )
            for row in rows
        }


SCENARIO = [
    *small_tree(),
    membership("bk", 13500),
    BK_PLAN,
    submitted("sk-1", "bk-cdcs-1", at="2022-05-31T23:30:00+07:00"),
    submitted("sk-2", "bk-cdcs-2", at="2022-05-31T17:00:00+00:00"),
    submitted("sk-3", "bk-cdcs-2", at="2022-03-01T09:00:00+07:00"),
    reviewed("initiative.approved", "sk-3"),
]


async def test_each_initiative_counts_for_its_unit_and_ancestors_in_their_phases(
    engine: AsyncEngine,
) -> None:
    await ingest_and_project(engine, SCENARIO)

    assert await progress(engine, "bk") == {"bk-1": (2, 675), "bk-2": (1, 540), "": (3, 2025)}
    assert await progress(engine, "bk-bt") == {"bk-1": (2, None), "bk-2": (1, None), "": (3, None)}
    assert await progress(engine, "bk-cdcs-2") == {
        "bk-1": (1, None),
        "bk-2": (1, None),
        "": (2, None),
    }
    assert await progress(engine, "vn") == {}


async def test_a_redelivered_batch_changes_nothing(engine: AsyncEngine) -> None:
    projection, records = await ingest_and_project(engine, SCENARIO)

    outcome = await projection.apply(records)

    assert outcome.applied == 0
    assert outcome.duplicates == len([r for r in records if r.stream_id != "reference"])
    assert await progress(engine, "bk") == {"bk-1": (2, 675), "bk-2": (1, 540), "": (3, 2025)}


async def test_counts_brought_back_to_zero_leave_no_row_however_the_facts_were_batched(
    engine: AsyncEngine,
) -> None:
    """A submission withdrawn the same day nets to nothing in the daily series and in the
    breakdowns. In one batch its +1 and -1 make no row; in two batches they must not leave
    a row of zeros either, or live tables would differ from a rebuild's."""
    first = [*small_tree(), BK_PLAN, submitted("i1", "bk-cdcs-1", at="2022-05-12T08:00:00+07:00")]
    withdrawn = reviewed("initiative.withdrawn", "i1", at="2022-05-12T17:00:00+07:00")
    projection, _ = await ingest_and_project(engine, first)

    await ingest_and_project(engine, [withdrawn], projection)

    async with engine.connect() as connection:
        series = (await connection.execute(sa.select(rm_series_daily))).all()
        breakdowns = (await connection.execute(sa.select(rm_breakdowns))).all()
        rollup = (await connection.execute(sa.select(rm_rollup_daily.c.withdrawn))).all()
    assert series == []
    assert breakdowns == []
    assert [row.withdrawn for row in rollup] == [1, 1, 1]  # above the union filed at


async def authors_by_row(engine: AsyncEngine, unit_id: str) -> dict[str, int]:
    """phase_id → distinct authors."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(rm_progress.c.phase_id, rm_progress.c.authors).where(
                rm_progress.c.unit_id == unit_id
            )
        )
        return dict(rows.all())


async def test_an_author_counts_once_where_any_of_their_initiatives_counts(
    engine: AsyncEngine,
) -> None:
    """Distinct authors are not additive: Lan authors initiatives in both grassroots unions,
    so she counts once in each union and once, not twice, at the district. An update that
    names Minh instead takes the one initiative away from her, in the next batch as live
    projection would see it."""
    lan = {"name": "Lan", "member_id": "dv-lan", "author_type": "worker"}
    minh = {"name": "Minh", "member_id": "dv-minh", "author_type": "manager"}
    first = [
        *small_tree(),
        BK_PLAN,
        submitted("a1", "bk-cdcs-1", at="2022-03-01T09:00:00+07:00", authors=[lan]),
        submitted("a2", "bk-cdcs-2", at="2022-03-02T09:00:00+07:00", authors=[lan, minh]),
        submitted("a3", "bk-cdcs-2", at="2022-07-01T09:00:00+07:00", authors=[lan]),
    ]
    projection, _ = await ingest_and_project(engine, first)

    assert await authors_by_row(engine, "bk-cdcs-1") == {"bk-1": 1, "": 1}
    assert await authors_by_row(engine, "bk-cdcs-2") == {"bk-1": 2, "bk-2": 1, "": 2}
    assert await authors_by_row(engine, "bk-bt") == {"bk-1": 2, "bk-2": 1, "": 2}

    await ingest_and_project(
        engine, [updated("a1", at="2022-03-05T09:00:00+07:00", authors=[minh])], projection
    )

    assert await authors_by_row(engine, "bk-cdcs-1") == {"bk-1": 1, "": 1}
    assert await authors_by_row(engine, "bk-bt") == {"bk-1": 2, "bk-2": 1, "": 2}
    await ingest_and_project(
        engine, [updated("a2", at="2022-03-06T09:00:00+07:00", authors=[minh])], projection
    )
    assert await authors_by_row(engine, "bk-cdcs-2") == {"bk-1": 1, "bk-2": 1, "": 2}
    assert await authors_by_row(engine, "bk-bt") == {"bk-1": 1, "bk-2": 1, "": 2}


async def test_moving_a_unit_moves_its_subtree_s_figures_to_the_new_ancestors(
    engine: AsyncEngine,
) -> None:
    projection, _ = await ingest_and_project(
        engine, [*SCENARIO, unit_registered("bk-cm", "bk", "district")]
    )

    await ingest_and_project(engine, [unit_moved("bk-cdcs-2", "bk-cm")], projection)

    assert await progress(engine, "bk-bt") == {"bk-1": (1, None), "bk-2": (0, None), "": (1, None)}
    assert await progress(engine, "bk-cm") == {"bk-1": (1, None), "bk-2": (1, None), "": (2, None)}
    assert await progress(engine, "bk") == {"bk-1": (2, 675), "bk-2": (1, 540), "": (3, 2025)}
    async with engine.connect() as connection:
        ancestors = await connection.execute(
            sa.select(rm_closure.c.ancestor_id, rm_closure.c.depth)
            .where(rm_closure.c.descendant_id == "bk-cdcs-2")
            .order_by(rm_closure.c.depth)
        )
        assert ancestors.all() == [("bk-cdcs-2", 0), ("bk-cm", 1), ("bk", 2), ("vn", 3)]


async def test_progress_changes_name_only_the_rows_whose_value_or_target_moved(
    engine: AsyncEngine,
) -> None:
    projection, _ = await ingest_and_project(engine, SCENARIO)
    store = SqlEventStore(engine, outbox=False)
    await IngestPipeline(store).submit(
        [submitted("sk-4", "bk-cdcs-1", at="2022-04-01T10:00:00+07:00")]
    )
    last = await store.last_position()

    outcome = await projection.apply([r async for r in store.read_all(after=last - 1)])

    moved = {
        (c.unit_id, c.phase_id): (c.before.value, c.after.value, c.after.target)
        for c in outcome.changes
    }
    assert moved == {
        ("bk", "bk-1"): (2, 3, 675),
        ("bk", ""): (3, 4, 2025),
        ("bk-bt", "bk-1"): (2, 3, None),
        ("bk-bt", ""): (3, 4, None),
        ("bk-cdcs-1", "bk-1"): (1, 2, None),
        ("bk-cdcs-1", ""): (1, 2, None),
    }


QN_PLAN = plan_set(
    "qn",
    [("qn-1", "2022-01-01", "2022-12-31")],
    [
        {"phase_id": "qn-1", "kind": "count", "value": "50"},
        {"phase_id": "qn-1", "kind": "count", "value": "10", "applies_to": "descendants"},
    ],
)


async def test_a_target_set_for_units_without_any_initiative_reaches_the_notifier(
    engine: AsyncEngine,
) -> None:
    projection, _ = await ingest_and_project(engine, SCENARIO)
    store = SqlEventStore(engine, outbox=False)
    await IngestPipeline(store).submit(
        [unit_registered("qn", "vn", "province"), unit_registered("qn-x", "qn", "district")]
    )
    await IngestPipeline(store).submit([QN_PLAN])

    outcome = await projection.apply([r async for r in store.read_all()])

    targets = {(c.unit_id, c.phase_id): (c.before, c.after) for c in outcome.changes}
    assert {key: (b.target, a.value, a.target) for key, (b, a) in targets.items()} == {
        ("qn", "qn-1"): (None, 0, 50),
        ("qn-x", "qn-1"): (None, 0, 10),
    }


async def test_a_late_move_reaches_the_notifier_for_every_row_it_re_attributes(
    engine: AsyncEngine,
) -> None:
    """The district moves on 1 March, recorded after its initiatives of March to June: they
    leave Bắc Kạn's figures and join Quảng Ninh's, and the district gets Quảng Ninh's
    cascaded target; every one of those rows is a change."""
    projection, _ = await ingest_and_project(
        engine, [*SCENARIO, unit_registered("qn", "vn", "province"), QN_PLAN]
    )
    store = SqlEventStore(engine, outbox=False)
    await IngestPipeline(store).submit([unit_moved("bk-bt", "qn")])
    last = await store.last_position()

    outcome = await projection.apply([r async for r in store.read_all(after=last - 1)])

    moved = {
        (c.unit_id, c.phase_id): (c.before.value, c.before.target, c.after.value, c.after.target)
        for c in outcome.changes
    }
    assert moved[("qn", "qn-1")] == (0, 50, 3, 50)
    assert moved[("bk", "bk-1")] == (2, 675, 0, 675)
    assert moved[("bk", "bk-2")] == (1, 540, 0, 540)
    assert moved[("bk", "")] == (3, 2025, 0, 2025)
    assert moved[("bk-bt", "qn-1")] == (0, None, 3, 10)
    assert moved[("bk-cdcs-2", "qn-1")] == (0, None, 2, 10)


async def test_whole_campaign_counts_and_breakdowns_add_each_units_own_initiatives_on_read(
    engine: AsyncEngine,
) -> None:
    """The daily rollup and the breakdowns keep no row for a unit's own initiatives (a
    grassroots union's are nearly all of a batch's rows there): the queries count them from
    the initiatives, so every unit, the district with an initiative of its own among them,
    still shows its subtree."""
    group = [AUTHOR, {"name": "Trần Thị B", "author_type": "worker"}]
    facts = [
        *small_tree(),
        submitted("i1", "bk-cdcs-1", at="2022-05-12T08:00:00+07:00"),
        submitted("i2", "bk-cdcs-1", at="2022-05-13T08:00:00+07:00", authors=group),
        submitted("i3", "bk-cdcs-2", at="2022-05-12T09:00:00+07:00"),
        submitted("i4", "bk-bt", at="2022-05-12T10:00:00+07:00"),
        reviewed("initiative.withdrawn", "i3", at="2022-05-14T17:00:00+07:00"),
    ]
    await ingest_and_project(engine, facts)

    units = ["bk-cdcs-1", "bk-cdcs-2", "bk-bt", "bk", "vn"]
    found = await ReadModels(engine).campaign_counts(units, CAMPAIGN)

    broken_down = {unit: await ReadModels(engine).breakdowns(unit, CAMPAIGN) for unit in units}

    kept = {status: n for status, n in found["bk-bt"].items() if n}
    assert {unit: sum(found[unit].values()) for unit in units} == {
        "bk-cdcs-1": 2,
        "bk-cdcs-2": 1,
        "bk-bt": 4,
        "bk": 4,
        "vn": 4,
    }
    assert kept == {"under_review": 3, "withdrawn": 1}
    async with engine.connect() as connection:
        rows = (await connection.execute(sa.select(rm_rollup_daily.c.unit_id))).scalars()
        assert set(rows) == {"bk-bt", "bk", "vn"}
        rows = (await connection.execute(sa.select(rm_breakdowns.c.unit_id))).scalars()
        assert set(rows) == {"bk-bt", "bk", "vn"}
        view = await connection.execute(
            sa.text("SELECT unit_id, dimension, value, submitted, approved FROM v_breakdowns")
        )
        viewed: defaultdict[str, list[tuple[object, ...]]] = defaultdict(list)
        for unit, *row in view:
            viewed[unit].append(tuple(row))
    as_read = {
        unit: [(b.dimension, b.value, b.submitted, b.approved) for b in found]
        for unit, found in broken_down.items()
    }
    assert as_read["bk-cdcs-1"] == [
        ("author_type", "member", 2, 0),
        ("author_type", "worker", 1, 0),
        ("category", "productivity", 2, 0),
        ("solution_type", "technical", 2, 0),
    ]
    assert as_read["bk-cdcs-2"] == []  # withdrawn: neither submitted nor approved now
    assert {unit: sorted(rows) for unit, rows in viewed.items()} == {
        unit: sorted(rows) for unit, rows in as_read.items() if rows
    }
    assert (
        as_read["bk-bt"]
        == as_read["bk"]
        == as_read["vn"]
        == [
            ("author_type", "member", 3, 0),
            ("author_type", "worker", 1, 0),
            ("category", "productivity", 3, 0),
            ("solution_type", "technical", 3, 0),
        ]
    )


async def test_the_daily_series_adds_each_units_own_initiatives_on_read(
    engine: AsyncEngine,
) -> None:
    """``rm_series_daily`` keeps no row for a unit's own initiatives either: the API's series
    and ``v_series`` add them from the initiatives' local days. The district's own submission
    on the 14th offsets a withdrawal below it that day (no day is shown for it), and an
    approval at 23:30 counts on its local day."""
    facts = [
        *small_tree(),
        submitted("i1", "bk-cdcs-1", at="2022-05-12T08:00:00+07:00"),
        submitted("i2", "bk-cdcs-2", at="2022-05-13T09:00:00+07:00"),
        submitted("i3", "bk-bt", at="2022-05-14T10:00:00+07:00"),
        reviewed("initiative.withdrawn", "i2", at="2022-05-14T17:00:00+07:00"),
        reviewed("initiative.approved", "i1", at="2022-05-15T23:30:00+07:00"),
    ]
    await ingest_and_project(engine, facts)
    read = ReadModels(engine)

    submitted_by_day = {
        unit: {str(day): n for day, n in await read.series(unit, CAMPAIGN, Metric.SUBMITTED, None)}
        for unit in ("bk-cdcs-1", "bk-cdcs-2", "bk-bt", "vn")
    }
    approved = await read.series("bk-cdcs-1", CAMPAIGN, Metric.APPROVED, None)
    until_13 = await read.series("bk-bt", CAMPAIGN, Metric.SUBMITTED, dt.date(2022, 5, 13))
    async with engine.connect() as connection:
        stored = set((await connection.execute(sa.select(rm_series_daily.c.unit_id))).scalars())
        view = await connection.execute(
            sa.text(
                "SELECT day, submitted, submitted_cumulative FROM v_series "
                "WHERE unit_id = 'bk-bt' ORDER BY day"
            )
        )
        viewed = [(str(day), n, total) for day, n, total in view]

    assert stored == {"bk-bt", "bk", "vn"}
    assert submitted_by_day["bk-cdcs-1"] == {"2022-05-12": 1, "2022-05-15": 0}
    assert submitted_by_day["bk-cdcs-2"] == {"2022-05-13": 1, "2022-05-14": -1}
    assert submitted_by_day["bk-bt"] == {"2022-05-12": 1, "2022-05-13": 1, "2022-05-15": 0}
    assert submitted_by_day["vn"] == submitted_by_day["bk-bt"]
    assert [(str(day), n) for day, n in approved] == [("2022-05-12", 0), ("2022-05-15", 1)]
    assert [str(day) for day, _ in until_13] == ["2022-05-12", "2022-05-13"]
    assert viewed == [("2022-05-12", 1, 1), ("2022-05-13", 1, 2), ("2022-05-15", 0, 2)]
