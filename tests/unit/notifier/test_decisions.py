"""Decisions and deliveries on SQLite: each decided once whatever is redelivered or
restarted, queued for exactly the subscribers that follow the unit, deadlines caught up
after downtime, thresholds decided only while their phase runs, and one digest per parent
instead of one message per child."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.notifier.clock import DeadlineClock
from services.notifier.decisions import ChangeJudge
from services.notifier.freshness import Freshness
from services.notifier.metrics import NotifierMetrics
from services.notifier.outbox_input import OutboxInput
from services.notifier.schema import (
    nt_clock,
    nt_decisions,
    nt_deliveries,
    nt_progress,
    nt_subscriptions,
)
from services.notifier.settings import NotifierSettings
from services.notifier.store import SqlStore
from shared.contracts.progress import ProgressChanged
from shared.dead_letters import SqlDeadLetters, dead_letters
from shared.persistence.engine import create_engine
from shared.persistence.migrations import upgrade
from shared.persistence.progress_outbox import progress_outbox
from tests.conftest import UTC7, FrozenClock
from tests.kafka_tools import wait_until
from tests.unit.notifier import (
    BAC_KAN_TARGET,
    DEADLINE,
    PHASE_ONE,
    change,
    climb,
    seed_units,
    subscribe,
    webhook,
)

SETTINGS = NotifierSettings(outcome_grace_seconds=0)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await seed_units(engine)
    yield engine
    await engine.dispose()


def judge_on(engine: AsyncEngine, clock: FrozenClock, metrics: NotifierMetrics) -> ChangeJudge:
    return ChangeJudge(SqlStore(engine, metrics), SETTINGS.rules_for, metrics, clock)


def clock_on(
    engine: AsyncEngine,
    clock: FrozenClock,
    metrics: NotifierMetrics,
    freshness: Freshness | None = None,
) -> DeadlineClock:
    """A clock whose figures count as current unless ``freshness`` says otherwise."""
    return DeadlineClock(
        engine,
        SETTINGS.rules_for,
        metrics,
        clock,
        freshness=freshness or Freshness(quiet_seconds=0),
        digest_hour=8,
        interval_seconds=60,
    )


async def decided(engine: AsyncEngine) -> list[tuple[str, str, float | None, int]]:
    """(key, rule, threshold, value) of every decision, by key."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(
                nt_decisions.c.key,
                nt_decisions.c.rule,
                nt_decisions.c.threshold,
                nt_decisions.c.value,
            ).order_by(nt_decisions.c.key)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def queued(engine: AsyncEngine) -> list[tuple[str, str]]:
    """(decision key, official) of every delivery, sorted."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            sa.select(nt_decisions.c.key, nt_subscriptions.c.official)
            .select_from(
                nt_deliveries.join(
                    nt_decisions, nt_decisions.c.id == nt_deliveries.c.decision_id
                ).join(nt_subscriptions, nt_subscriptions.c.id == nt_deliveries.c.subscription_id)
            )
            .where(nt_deliveries.c.status == "pending")
        )
        return sorted((key, official) for key, official in rows)


# -- redelivery ------------------------------------------------------------------------------


async def test_redelivering_every_change_twice_gives_the_same_decisions_and_deliveries(
    engine: AsyncEngine, tmp_path: Path, clock: FrozenClock
) -> None:
    changes = climb("bk", 300, 350, 455, 560)
    twice_url = f"sqlite+aiosqlite:///{tmp_path / 'twice.db'}"
    twice = create_engine(twice_url)
    try:
        await upgrade(twice)
        await seed_units(twice)
        for target in (engine, twice):
            await subscribe(target, webhook("bk", ["threshold_crossed", "at_risk"], official="A"))
            await subscribe(
                target, webhook("vn", ["threshold_crossed"], official="B", include_descendants=True)
            )

        once_judge = judge_on(engine, clock, NotifierMetrics())
        for single in changes:
            await once_judge.apply([single])
        twice_judge = judge_on(twice, clock, NotifierMetrics())
        c1, c2, c3, c4 = changes
        for batch in ([c1, c1, c2], [c2, c3], [c3, c4, c4], changes, changes[::-1]):
            await twice_judge.apply(batch)

        assert await decided(twice) == await decided(engine)
        assert await queued(twice) == await queued(engine)
    finally:
        await twice.dispose()
    assert await decided(engine) == [
        ("bk/1trieu/1/at_risk/20220512T060000.000000Z", "at_risk", None, 300),
        ("bk/1trieu/1/back_on_track/20220512T060000.000000Z", "back_on_track", None, 560),
        ("bk/1trieu/1/threshold_crossed/0.5", "threshold_crossed", 0.5, 350),
        ("bk/1trieu/1/threshold_crossed/0.8", "threshold_crossed", 0.8, 560),
    ]
    assert await queued(engine) == [
        ("bk/1trieu/1/at_risk/20220512T060000.000000Z", "A"),
        ("bk/1trieu/1/threshold_crossed/0.5", "A"),
        ("bk/1trieu/1/threshold_crossed/0.5", "B"),
        ("bk/1trieu/1/threshold_crossed/0.8", "A"),
        ("bk/1trieu/1/threshold_crossed/0.8", "B"),
    ]


async def test_the_delivery_worker_is_woken_after_a_batch_with_new_decisions_only(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    wakes: list[int] = []
    metrics = NotifierMetrics()
    judge = ChangeJudge(
        SqlStore(engine, metrics),
        SETTINGS.rules_for,
        metrics,
        clock,
        queued=lambda: wakes.append(1),
    )
    changes = climb("bk", 300, 350)

    await judge.apply(changes)
    after_new_decisions = len(wakes)
    await judge.apply(changes)

    assert await decided(engine), "the batch decided something"
    assert (after_new_decisions, len(wakes)) == (1, 1), "a redelivered batch decides nothing new"


# -- Bắc Kạn, 12 May 2022 --------------------------------------------------------------------


async def test_bac_kan_at_455_of_675_with_19_days_left_is_at_risk_for_its_followers_only(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    await subscribe(engine, webhook("bk", ["at_risk"], official="province"))
    await subscribe(
        engine, webhook("vn", ["at_risk"], official="national", include_descendants=True)
    )
    await subscribe(engine, webhook("vn", ["at_risk"], official="national, own unit only"))
    await subscribe(engine, webhook("bk", ["missed"], official="other rule"))
    await subscribe(
        engine, webhook("qn", ["at_risk"], official="other province", include_descendants=True)
    )
    await subscribe(
        engine,
        webhook("vn", ["at_risk"], official="digest", include_descendants=True, digest=True),
    )
    disabled = await subscribe(engine, webhook("bk", ["at_risk"], official="disabled"))
    async with engine.begin() as connection:
        await connection.execute(
            nt_subscriptions.update()
            .where(nt_subscriptions.c.id == disabled)
            .values(disabled_reason="HTTP 410")
        )

    await judge_on(engine, clock, NotifierMetrics()).apply([change("bk", 455, before=440)])

    async with engine.connect() as connection:
        row = (
            await connection.execute(
                sa.select(nt_decisions).where(nt_decisions.c.rule == "at_risk")
            )
        ).one()
    assert (row.unit_id, row.phase_id, row.value, row.target) == ("bk", "1", 455, 675)
    assert row.details["forecast"] == 522
    assert row.details["days_left"] == 19
    assert row.details["unit_name"] == "LĐLĐ tỉnh Bắc Kạn"
    assert row.details["phase_name"] == "Giai đoạn 1"
    assert row.decided_at == clock.now
    assert [o for k, o in await queued(engine) if "at_risk" in k] == ["national", "province"]


async def test_a_phase_ending_below_target_is_missed_once_with_one_delivery_per_subscriber(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    await subscribe(engine, webhook("bk", ["missed"], official="province"))
    await subscribe(
        engine, webhook("vn", ["missed", "at_risk"], official="national", include_descendants=True)
    )
    metrics = NotifierMetrics()
    judge, deadlines = judge_on(engine, clock, metrics), clock_on(engine, clock, metrics)
    await judge.apply([change("bk", 455)])

    clock.now = dt.datetime(2022, 5, 31, 23, 0, tzinfo=UTC7)
    await deadlines.check()
    clock.now = DEADLINE + dt.timedelta(seconds=30)
    assert await deadlines.check() == 1
    clock.advance(hours=1)
    assert await deadlines.check() == 0
    await judge.apply([change("bk", 455)])  # the last change, redelivered after the deadline

    missed = [(k, o) for k, o in await queued(engine) if "/outcome/" in k]
    assert missed == [
        ("bk/1trieu/1/outcome/2022-05-31", "national"),
        ("bk/1trieu/1/outcome/2022-05-31", "province"),
    ]
    async with engine.connect() as connection:
        details = await connection.scalar(
            sa.select(nt_decisions.c.details).where(nt_decisions.c.rule == "missed")
        )
    assert details["shortfall"] == 220
    assert metrics.registry.get_sample_value("notifier_decisions_total", {"rule": "missed"}) == 1


async def test_a_clock_restarted_after_the_deadline_passed_while_down_decides_missed_once(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    await subscribe(engine, webhook("bk", ["missed"], official="province"))
    await judge_on(engine, clock, NotifierMetrics()).apply([change("bk", 455)])
    clock.now = dt.datetime(2022, 5, 30, 9, 0, tzinfo=UTC7)
    await clock_on(engine, clock, NotifierMetrics()).check()

    clock.now = dt.datetime(2022, 6, 3, 10, 0, tzinfo=UTC7)  # down from 30 May to 3 June
    restarted = clock_on(engine, clock, NotifierMetrics())
    assert await restarted.check() == 1
    assert await restarted.check() == 0
    assert await clock_on(engine, clock, NotifierMetrics()).check() == 0

    assert [k for k, _ in await queued(engine) if "/outcome/" in k] == [
        "bk/1trieu/1/outcome/2022-05-31"
    ]
    async with engine.connect() as connection:
        checked_until = await connection.scalar(sa.select(nt_clock.c.checked_until))
    assert checked_until == clock.now


async def test_a_copy_first_seen_after_the_deadline_is_judged_by_the_clock_only_once_current(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    """A backlog: the change arrives after the deadline; the outcome waits until the input
    has heard everything, then is decided once."""
    clock.now = dt.datetime(2022, 6, 10, tzinfo=UTC7)
    await judge_on(engine, clock, NotifierMetrics()).apply(
        [change("bk-bb", 40, target=100, as_of=dt.datetime(2022, 5, 20, tzinfo=UTC7))]
    )
    catching_up = Freshness(quiet_seconds=3600)
    catching_up.heard("outbox", 250)
    assert await clock_on(engine, clock, NotifierMetrics(), catching_up).check() == 0

    catching_up.heard("outbox", 0)
    assert await clock_on(engine, clock, NotifierMetrics(), catching_up).check() == 1
    assert await clock_on(engine, clock, NotifierMetrics()).check() == 0
    assert [rule for _, rule, _, _ in await decided(engine)] == ["missed"]


@pytest.mark.parametrize(
    ("behind", "ended", "decided"),
    [(True, True, [0, 1]), (False, True, [1]), (True, False, [0])],
)
async def test_the_clock_checks_again_on_catching_up_only_when_outcomes_waited_for_it(
    engine: AsyncEngine, clock: FrozenClock, behind: bool, ended: bool, decided: list[int]
) -> None:
    """Behind at a check with a phase ended and undecided: catching up checks again at once,
    so the outcome is not left for a whole interval. Current at the check, or nothing
    ended: catching up (after nearly every batch under load) waits for the interval. Each
    check's count of new decisions: the outcome (missed) is decided once, on current figures."""
    clock.now = DEADLINE + dt.timedelta(days=1 if ended else -1)
    await judge_on(engine, clock, NotifierMetrics()).apply([change("bk-bb", 40, target=100)])
    freshness = Freshness(quiet_seconds=3600)
    freshness.heard("p0", 5 if behind else 0)
    deadline_clock = clock_on(engine, clock, NotifierMetrics(), freshness)
    done: list[int] = []
    paced: list[bool] = []
    check = deadline_clock.check

    async def counted(*, pace: bool) -> int:
        decided = await check(pace=pace)
        done.append(decided)
        paced.append(pace)
        return decided

    deadline_clock.check = counted  # type: ignore[method-assign]

    async def checked_once() -> bool:
        return len(done) == 1

    running = asyncio.create_task(deadline_clock.run())
    try:
        await wait_until(checked_once, within=10, what="the first check")
        freshness.heard("p0", 5)
        freshness.heard("p0", 0)
        await asyncio.sleep(0.3)
        assert done == decided
        assert paced == [True, False][: len(decided)]  # pace waits for the interval
    finally:
        running.cancel()


async def test_deadlines_passed_while_the_notifier_was_down_are_each_judged_once_on_return(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    """Down from 30 May 2022 to 2 January 2024: phase 1, phase 2 and the whole campaign all
    ended meanwhile. Each is judged once when the notifier is back, for the subscriptions
    that existed at its deadline: one made in March 2023 is told of the two that ended in
    September 2023, and finds phase 1's in the list only."""
    await subscribe(engine, webhook("bk", ["missed", "achieved"], official="since 2022"))
    await subscribe(
        engine,
        webhook("bk", ["missed", "achieved"], official="since 2023"),
        at=dt.datetime(2023, 3, 1, tzinfo=UTC7),
    )
    judge = judge_on(engine, clock, NotifierMetrics())
    clock.now = dt.datetime(2022, 5, 30, 9, 0, tzinfo=UTC7)
    await judge.apply(
        [
            change("bk", 455, as_of=clock.now),
            change("bk", 600, target=540, phase=PHASE_TWO, as_of=clock.now),
            change("bk", 1055, target=2025, phase=WHOLE_CAMPAIGN, as_of=clock.now),
        ]
    )
    assert await clock_on(engine, clock, NotifierMetrics()).check() == 0

    clock.now = dt.datetime(2024, 1, 2, 10, 0, tzinfo=UTC7)
    back = clock_on(engine, clock, NotifierMetrics())
    assert await back.check() == 3
    assert await back.check() == 0
    assert await clock_on(engine, clock, NotifierMetrics()).check() == 0

    assert [d for d in await decided(engine) if "/outcome/" in d[0]] == [
        ("bk/1trieu//outcome/2023-09-30", "missed", None, 1055),
        ("bk/1trieu/1/outcome/2022-05-31", "missed", None, 455),
        ("bk/1trieu/2/outcome/2023-09-30", "achieved", None, 600),
    ]
    assert [q for q in await queued(engine) if "/outcome/" in q[0]] == [
        ("bk/1trieu//outcome/2023-09-30", "since 2022"),
        ("bk/1trieu//outcome/2023-09-30", "since 2023"),
        ("bk/1trieu/1/outcome/2022-05-31", "since 2022"),
        ("bk/1trieu/2/outcome/2023-09-30", "since 2022"),
        ("bk/1trieu/2/outcome/2023-09-30", "since 2023"),
    ]


# -- thresholds only while the phase runs ----------------------------------------------------

PHASE_TWO = ("2", "Giai đoạn 2", dt.date(2022, 6, 1), dt.date(2023, 9, 30))
WHOLE_CAMPAIGN = ("", "", dt.date(2022, 1, 1), dt.date(2023, 9, 30))
"""The whole-campaign row's window: the first phase's start to the last phase's end."""
RUNNING = dt.datetime(2022, 5, 12, 13, 30, tzinfo=UTC7)
JULY = dt.datetime(2022, 7, 1, 9, 0, tzinfo=UTC7)
BACKFILL = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC7)
"""When old initiatives are loaded, or a reorganisation re-sums old phases."""


def skipped(metrics: NotifierMetrics) -> dict[str, float]:
    samples = {
        reason: metrics.registry.get_sample_value(
            "notifier_decisions_skipped_total", {"reason": reason}
        )
        for reason in ("phase_over", "phase_not_started")
    }
    return {reason: count for reason, count in samples.items() if count}


@pytest.mark.parametrize(
    ("phase", "now", "decisions", "skips"),
    [
        pytest.param(
            PHASE_ONE, RUNNING, ["bk/1trieu/1/threshold_crossed/0.8"], {}, id="phase-running"
        ),
        pytest.param(PHASE_ONE, DEADLINE, [], {"phase_over": 1}, id="over-since-midnight"),
        pytest.param(PHASE_ONE, BACKFILL, [], {"phase_over": 1}, id="over-years-ago"),
        pytest.param(PHASE_TWO, RUNNING, [], {"phase_not_started": 1}, id="not-started"),
        pytest.param(PHASE_ONE, JULY, [], {"phase_over": 1}, id="phase-one-in-july"),
        pytest.param(
            WHOLE_CAMPAIGN, JULY, ["bk/1trieu//threshold_crossed/0.8"], {}, id="campaign-in-july"
        ),
    ],
)
async def test_a_threshold_is_decided_only_while_its_phase_runs_at_the_clocks_now(
    engine: AsyncEngine,
    clock: FrozenClock,
    phase: tuple[str, str, dt.date, dt.date],
    now: dt.datetime,
    decisions: list[str],
    skips: dict[str, float],
) -> None:
    """600 of 675 crosses 80 % on a pace that is not at risk; the change's ``as_of`` is
    before phase 1's deadline, as a backfill's is, so no ``missed`` is judged on it."""
    clock.now = now
    metrics = NotifierMetrics()
    crossing = change(
        "bk", 600, before=500, phase=phase, as_of=dt.datetime(2022, 5, 12, tzinfo=UTC7)
    )

    await judge_on(engine, clock, metrics).apply([crossing])

    assert [key for key, *_ in await decided(engine)] == decisions
    assert skipped(metrics) == skips
    async with engine.connect() as connection:
        stored = (await connection.execute(sa.select(nt_progress))).one()
    assert (stored.phase_id, stored.value, stored.target) == (phase[0], 600, BAC_KAN_TARGET)


async def test_a_backfilled_batch_decides_no_threshold_and_logs_its_skips_once(
    engine: AsyncEngine, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    await subscribe(engine, webhook("bk", ["threshold_crossed", "at_risk"], official="province"))
    clock.now = BACKFILL
    metrics = NotifierMetrics()
    caplog.set_level(logging.INFO, logger="services.notifier.decisions")

    await judge_on(engine, clock, metrics).apply(climb("bk", 300, 350, 455, 560))

    assert await decided(engine) == []
    assert await queued(engine) == []
    assert skipped(metrics) == {"phase_over": 3}  # 350 and 455 cross 50 %, 560 80 %
    logged = [r for r in caplog.records if r.name == "services.notifier.decisions"]
    assert [(r.getMessage(), r.__dict__["skipped"]) for r in logged] == [
        ("threshold crossings not decided: their phase is not running", {"phase_over": 3})
    ]


async def test_a_late_change_after_the_deadline_decides_no_threshold_but_the_clock_misses_it(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    """The skipped change's figures are the copy the clock judges ``missed`` on."""
    await subscribe(engine, webhook("bk", ["threshold_crossed", "missed"], official="province"))
    metrics = NotifierMetrics()
    judge, deadlines = judge_on(engine, clock, metrics), clock_on(engine, clock, metrics)
    await judge.apply([change("bk", 455)])
    clock.now = dt.datetime(2022, 5, 31, 23, 0, tzinfo=UTC7)
    await deadlines.check()

    clock.now = DEADLINE + dt.timedelta(seconds=30)
    late = dt.datetime(2022, 5, 31, 22, 0, tzinfo=UTC7)
    await judge.apply([change("bk", 600, before=455, as_of=late)])
    assert await deadlines.check() == 1

    assert [key for key, _ in await queued(engine)] == [
        "bk/1trieu/1/outcome/2022-05-31",
        "bk/1trieu/1/threshold_crossed/0.5",
    ]
    async with engine.connect() as connection:
        missed = (
            await connection.execute(sa.select(nt_decisions).where(nt_decisions.c.rule == "missed"))
        ).one()
    assert (missed.value, missed.details["shortfall"]) == (600, 75)


# -- digests ---------------------------------------------------------------------------------


async def test_a_digest_subscriber_gets_one_message_listing_the_children_not_one_per_child(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    await subscribe(
        engine,
        webhook("bk", ["missed"], official="digest", include_descendants=True, digest=True),
    )
    await subscribe(engine, webhook("bk-bb", ["missed"], official="district"))
    metrics = NotifierMetrics()
    judge, deadlines = judge_on(engine, clock, metrics), clock_on(engine, clock, metrics)
    await judge.apply(
        [change("bk", 455), change("bk-bb", 40, target=100), change("bk-cm", 90, target=100)]
    )
    clock.now = dt.datetime(2022, 5, 31, 12, 0, tzinfo=UTC7)
    await deadlines.check()
    clock.now = DEADLINE + dt.timedelta(minutes=5)
    assert await deadlines.check() == 3  # bk, bk-bb and bk-cm missed phase 1
    clock.now = dt.datetime(2022, 6, 1, 8, 0, 30, tzinfo=UTC7)
    assert await deadlines.check() == 0  # the 8:00 digest waits a minute for late commits
    clock.advance(minutes=1)
    assert await deadlines.check() == 1
    clock.advance(days=1)
    assert await deadlines.check() == 0  # nothing new the next day

    assert await queued(engine) == [
        ("bk-bb/1trieu/1/outcome/2022-05-31", "district"),
        ("bk/1trieu/1/digest/missed%402022-06-01", "digest"),
    ]
    async with engine.connect() as connection:
        digest = (
            await connection.execute(sa.select(nt_decisions).where(nt_decisions.c.rule == "digest"))
        ).one()
    assert (digest.unit_id, digest.phase_id, digest.value) == ("bk", "1", 3)
    assert digest.details["unit_name"] == "LĐLĐ tỉnh Bắc Kạn"
    assert [(c["unit_id"], c["value"], c["target"]) for c in digest.details["children"]] == [
        ("bk", 455, 675),
        ("bk-bb", 40, 100),
        ("bk-cm", 90, 100),
    ]


async def test_a_follow_up_digest_lists_the_units_below_with_nothing_yet_then_those_at_risk(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    """Đôn đốc: on 12 May, Ba Bể has nothing and Chợ Mới is at risk in phase 1; Bắc Kạn
    itself is not listed (the list is of the units below), nor is the whole campaign."""
    await subscribe(
        engine,
        webhook("bk", ["follow_up"], official="digest", include_descendants=True, digest=True),
    )
    clock.now = dt.datetime(2022, 5, 11, 9, 0, tzinfo=UTC7)
    metrics = NotifierMetrics()
    at = dt.datetime(2022, 5, 11, 9, 0, tzinfo=UTC7)
    await judge_on(engine, clock, metrics).apply(
        [
            change("bk", 0, as_of=at),
            change("bk-bb", 0, target=100, as_of=at),
            change("bk-cm", 30, target=100, as_of=at),
            change("bk-cm", 0, target=100, phase=WHOLE_CAMPAIGN, as_of=at),
        ]
    )
    deadlines = clock_on(engine, clock, metrics)
    await deadlines.check()
    clock.now = dt.datetime(2022, 5, 12, 8, 1, 30, tzinfo=UTC7)
    await deadlines.check()

    async with engine.connect() as connection:
        digest = (
            await connection.execute(sa.select(nt_decisions).where(nt_decisions.c.rule == "digest"))
        ).one()
    assert digest.key == "bk/1trieu/1/digest/follow_up%402022-05-12"
    assert [(c["unit_id"], c["rule"]) for c in digest.details["children"]] == [
        ("bk-bb", "no_submission"),
        ("bk-cm", "at_risk"),
    ]
    assert await queued(engine) == [("bk/1trieu/1/digest/follow_up%402022-05-12", "digest")]


# -- embedded input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        pytest.param({"unit_id": "bk"}, "undecodable", id="not-a-change"),
        pytest.param(
            change("bk-huge", 2**70).model_dump(mode="json"), "unapplicable", id="unstorable"
        ),
    ],
)
async def test_the_outbox_is_judged_then_emptied_and_a_bad_row_dead_lettered(
    engine: AsyncEngine, clock: FrozenClock, bad: dict[str, Any], code: str
) -> None:
    rows = [bad, *[c.model_dump(mode="json") for c in climb("bk", 350, 560)]]
    async with engine.begin() as connection:
        await connection.execute(
            progress_outbox.insert(),
            [{"unit_id": "bk", "payload": row, "created_at": clock.now} for row in rows],
        )
    metrics = NotifierMetrics()
    outbox = OutboxInput(
        engine, judge_on(engine, clock, metrics), SqlDeadLetters(engine, clock), metrics
    )

    assert await outbox.drain_once() == 3
    assert await outbox.drain_once() == 0

    assert [key for key, *_ in await decided(engine)] == [
        "bk/1trieu/1/at_risk/20220512T060000.000000Z",
        "bk/1trieu/1/back_on_track/20220512T060000.000000Z",
        "bk/1trieu/1/threshold_crossed/0.5",
        "bk/1trieu/1/threshold_crossed/0.8",
    ]
    async with engine.connect() as connection:
        letters = (await connection.execute(sa.select(dead_letters))).all()
    assert [(letter.code, letter.origin["channel"]) for letter in letters] == [(code, "outbox")]
    assert metrics.registry.get_sample_value("notifier_progress_outbox_backlog") == 0
    assert metrics.registry.get_sample_value(f"notifier_progress_changes_{code}_total") == 1


class RecordingJudge:
    """Stands in for the judge: records what it is given, or fails as an outage would."""

    def __init__(self, failure: Exception | None = None) -> None:
        self.failure = failure
        self.judged: list[ProgressChanged] = []
        self.freshness = Freshness()

    async def apply(self, changes: Sequence[ProgressChanged]) -> int:
        if self.failure is not None:
            raise self.failure
        self.judged.extend(changes)
        return 0


async def test_outbox_changes_are_judged_with_their_row_id_as_sequence_and_kept_on_failure(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    async with engine.begin() as connection:
        rows = await connection.execute(
            progress_outbox.insert().returning(progress_outbox.c.id),
            [
                {"unit_id": "bk", "payload": c.model_dump(mode="json"), "created_at": clock.now}
                for c in climb("bk", 350, 560)
            ],
        )
        ids = sorted(row_id for (row_id,) in rows)
    metrics = NotifierMetrics()

    def outbox(judge: RecordingJudge) -> OutboxInput:
        return OutboxInput(engine, judge, SqlDeadLetters(engine, clock), metrics)

    with pytest.raises(ConnectionError):
        await outbox(RecordingJudge(ConnectionError("database unreachable"))).drain_once()
    judge = RecordingJudge()
    assert await outbox(judge).drain_once() == 2

    assert [(c.after.value, c.sequence) for c in judge.judged] == [(350, ids[0]), (560, ids[1])]
    assert await outbox(judge).drain_once() == 0


# -- pace on the clock -----------------------------------------------------------------------


async def test_a_unit_gone_quiet_falls_at_risk_on_the_clock_as_the_phase_runs_out(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    await subscribe(engine, webhook("bk", ["at_risk"], official="province"))
    metrics = NotifierMetrics()
    clock.now = dt.datetime(2022, 3, 1, tzinfo=UTC7)  # 39 % of phase 1: 300 is on pace
    await judge_on(engine, clock, metrics).apply([change("bk", 300, as_of=clock.now)])
    deadlines = clock_on(engine, clock, metrics)
    assert await deadlines.check() == 0

    clock.now = dt.datetime(2022, 4, 20, tzinfo=UTC7)  # 72 %: 300 forecasts 415 < 675 × 0.9
    assert await deadlines.check() == 1
    clock.advance(days=1)
    assert await deadlines.check() == 0  # still at risk: told once

    assert await queued(engine) == [("bk/1trieu/1/at_risk/20220419T170000.000000Z", "province")]


async def test_a_check_on_catching_up_judges_outcomes_and_leaves_pace_to_the_interval(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    """Phase 1 has ended undecided while phase 2 runs behind its pace: the check made when
    the input catches up (``pace=False``) decides phase 1's outcome only; the interval's
    check then tells of phase 2's pace."""
    await subscribe(engine, webhook("bk", ["at_risk", "missed"], official="province"))
    metrics = NotifierMetrics()
    clock.now = dt.datetime(2023, 6, 20, tzinfo=UTC7)
    early_in_two = dt.datetime(2022, 6, 2, tzinfo=UTC7)
    await judge_on(engine, clock, metrics).apply(
        [change("bk", 400, as_of=DEADLINE), change("bk", 10, phase=PHASE_TWO, as_of=early_in_two)]
    )
    deadlines = clock_on(engine, clock, metrics)

    assert await deadlines.check(pace=False) == 1
    assert [k for k, _ in await queued(engine)] == ["bk/1trieu/1/outcome/2022-05-31"]
    assert await deadlines.check() == 1
    assert [k for k, _ in await queued(engine) if "/at_risk/" in k] == [
        "bk/1trieu/2/at_risk/20230619T170000.000000Z"
    ]


async def test_the_copy_never_moves_back_to_an_older_change(
    engine: AsyncEngine, clock: FrozenClock
) -> None:
    """A stale duplicate arriving last (a second relay, a redelivery) changes nothing."""
    judge = judge_on(engine, clock, NotifierMetrics())
    newer = change("bk", 500, before=300).model_copy(update={"sequence": 7})
    older = change("bk", 300).model_copy(update={"sequence": 4})

    await judge.apply([newer])
    await judge.apply([older])

    async with engine.connect() as connection:
        stored = (await connection.execute(sa.select(nt_progress))).one()
    assert (stored.value, stored.sequence) == (500, 7)
