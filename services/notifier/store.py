"""The notifier's storage behind a port: its copy of the figures, decisions and the queue.

Handlers (``handlers.py``) see only :class:`Transaction`; :class:`SqlStore` is the adapter
on SQLite and PostgreSQL, and the tests' in-memory fake implements the same port, so the
rules' agreement with the domain is checked at thousands of examples a second.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Collection, Sequence
from collections.abc import Set as AbstractSet
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from services.notifier import subscriptions
from services.notifier.metrics import NotifierMetrics
from services.notifier.rules import Decision, Row, Rule
from services.notifier.schema import nt_decisions, nt_deliveries, nt_progress
from services.notifier.subscriptions import Subscriber
from shared.chunks import chunks
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import local_date
from shared.domain.progress import Status
from shared.persistence.published import published_unit_closure as closure
from shared.persistence.published import published_units
from shared.persistence.upsert import insert_on_conflict, upsert_rows

Key = tuple[str, str, str]
"""(unit, campaign, phase) of one row of figures."""

PENDING = "pending"
"""A queued delivery's status; the delivery worker moves it on (sent, failed, dead)."""

KEY_COLUMNS = ("unit_id", "campaign_id", "phase_id")
STORED = (
    "phase_name",
    "starts_on",
    "ends_on",
    "metric",
    "value",
    "target",
    "as_of",
    "sequence",
    "at_risk",
    "outcome",
)


class Transaction(Protocol):
    async def rows(self, keys: AbstractSet[Key]) -> dict[Key, Row]:
        """The stored rows among ``keys``, held for this transaction."""

    async def due(self, now: dt.datetime, *, running: bool = True) -> list[Row]:
        """Rows with a target whose outcome is undecided after their last day and, with
        ``running``, those whose phase runs at ``now``, held for this transaction (without
        the thresholds decided, which only a change's rules read)."""

    async def save(self, rows: Sequence[Row]) -> None: ...

    async def record(
        self, decisions: Sequence[Decision], now: dt.datetime
    ) -> list[tuple[int, Decision]]:
        """Insert the decisions whose key is new; those, with their ids."""

    async def followers(self, unit_ids: Collection[str]) -> dict[str, list[Subscriber]]:
        """Per unit, the enabled non-digest subscriptions following it."""

    async def queue(self, deliveries: Sequence[tuple[int, Subscriber]], now: dt.datetime) -> None:
        """One pending delivery per (decision, subscriber), due at once."""


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Transaction]: ...


class SqlStore:
    def __init__(self, engine: AsyncEngine, metrics: NotifierMetrics) -> None:
        self._engine = engine
        self._metrics = metrics

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        async with self._engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                # Take the write lock before reading, as PostgreSQL's row locks would: the
                # clock and the change input must not judge the same row at once.
                await connection.execute(
                    nt_progress.update().where(sa.false()).values(at_risk=nt_progress.c.at_risk)
                )
            yield SqlTransaction(connection, self._metrics)


class SqlTransaction:
    def __init__(self, connection: AsyncConnection, metrics: NotifierMetrics) -> None:
        self.connection = connection
        self._metrics = metrics

    async def rows(self, keys: AbstractSet[Key]) -> dict[Key, Row]:
        found: dict[Key, Row] = {}
        for units in chunks(sorted({unit_id for unit_id, _, _ in keys})):
            query = sa.select(nt_progress).where(nt_progress.c.unit_id.in_(units))
            for row in await self._read(query, only=keys):
                found[row.key] = row
        return found

    async def due(self, now: dt.datetime, *, running: bool = True) -> list[Row]:
        today = local_date(now, CAMPAIGN_ZONE)
        runs = sa.and_(nt_progress.c.starts_on <= today, nt_progress.c.ends_on >= today)
        ended = sa.and_(nt_progress.c.ends_on < today, nt_progress.c.outcome.is_(None))
        query = (
            sa.select(nt_progress)
            .where(nt_progress.c.target.is_not(None), sa.or_(runs, ended) if running else ended)
            .order_by(nt_progress.c.unit_id, nt_progress.c.campaign_id, nt_progress.c.phase_id)
        )
        return await self._read(query, thresholds=False)

    async def save(self, rows: Sequence[Row]) -> None:
        """One statement for any number of rows: a batch of changes saves thousands."""
        await upsert_rows(
            self.connection,
            nt_progress,
            KEY_COLUMNS,
            [*KEY_COLUMNS, *STORED],
            [_record(row) for row in sorted(rows, key=lambda row: row.key)],
        )

    async def record(
        self, decisions: Sequence[Decision], now: dt.datetime
    ) -> list[tuple[int, Decision]]:
        """Each decision's ``details`` get its unit's name, so a message needs no lookup."""
        unique: dict[str, Decision] = {}
        for decision in decisions:
            unique.setdefault(decision.key, decision)
        fresh = list(unique.values())
        if not fresh:
            return []
        names = await unit_names(self.connection, {decision.unit_id for decision in fresh})
        statement = (
            insert_on_conflict(self.connection.dialect, nt_decisions)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(nt_decisions.c.id, nt_decisions.c.key)
        )
        inserted = await self.connection.execute(
            statement,
            [
                {
                    "key": d.key,
                    "unit_id": d.unit_id,
                    "campaign_id": d.campaign_id,
                    "phase_id": d.phase_id,
                    "rule": d.rule.value,
                    "threshold": d.threshold,
                    "value": d.value,
                    "target": d.target,
                    "details": {"unit_name": names.get(d.unit_id, d.unit_id), **d.details},
                    "decided_at": now,
                }
                for d in fresh
            ],
        )
        ids = {row.key: row.id for row in inserted}
        recorded = [(ids[d.key], d) for d in fresh if d.key in ids]
        for _, decision in recorded:
            self._metrics.decisions.labels(decision.rule.value).inc()
        return recorded

    async def followers(self, unit_ids: Collection[str]) -> dict[str, list[Subscriber]]:
        return await subscriptions.unit_subscribers(self.connection, unit_ids)

    async def queue(self, deliveries: Sequence[tuple[int, Subscriber]], now: dt.datetime) -> None:
        if not deliveries:
            return
        statement = insert_on_conflict(
            self.connection.dialect, nt_deliveries
        ).on_conflict_do_nothing(index_elements=["decision_id", "subscription_id"])
        await self.connection.execute(
            statement,
            [
                {
                    "decision_id": decision_id,
                    "subscription_id": subscriber.id,
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for decision_id, subscriber in deliveries
            ],
        )
        for _, subscriber in deliveries:
            self._metrics.deliveries_queued.labels(subscriber.channel).inc()

    async def running_below(self, parents: Collection[str], on: dt.date) -> list[tuple[str, Row]]:
        """(parent, row) for the rows with a target of every unit below each of ``parents``
        whose phase (not the whole campaign) runs on ``on``."""
        query = (
            sa.select(closure.c.ancestor_id, nt_progress)
            .join(closure, closure.c.descendant_id == nt_progress.c.unit_id)
            .where(
                closure.c.ancestor_id.in_(sorted(parents)),
                closure.c.depth > 0,
                nt_progress.c.target.is_not(None),
                nt_progress.c.phase_id != "",
                nt_progress.c.starts_on <= on,
                nt_progress.c.ends_on >= on,
            )
            .order_by(closure.c.ancestor_id, nt_progress.c.unit_id)
        )
        return [(row.ancestor_id, _row(row, None)) for row in await self.connection.execute(query)]

    async def _read(
        self,
        query: sa.Select[Any],
        *,
        thresholds: bool = True,
        only: AbstractSet[Key] | None = None,
    ) -> list[Row]:
        """Rows of ``query``, locked on PostgreSQL, with the highest threshold decided; with
        ``only``, those of these keys (left out before they are made ``Row``s: a unit's
        other phases are most of what a batch of changes reads)."""
        stored = list(await self.connection.execute(query.with_for_update()))
        if only is not None:
            stored = [row for row in stored if (row.unit_id, row.campaign_id, row.phase_id) in only]
        units = {row.unit_id for row in stored} if thresholds else set()
        decided = await self._decided_thresholds(units)
        return [
            _row(row, decided.get((row.unit_id, row.campaign_id, row.phase_id))) for row in stored
        ]

    async def _decided_thresholds(self, unit_ids: Collection[str]) -> dict[Key, float]:
        found: dict[Key, float] = {}
        highest = sa.func.max(nt_decisions.c.threshold)
        columns = (nt_decisions.c.unit_id, nt_decisions.c.campaign_id, nt_decisions.c.phase_id)
        for units in chunks(sorted(unit_ids)):
            rows = await self.connection.execute(
                sa.select(*columns, highest)
                .where(
                    nt_decisions.c.unit_id.in_(units),
                    nt_decisions.c.rule == Rule.THRESHOLD_CROSSED.value,
                )
                .group_by(*columns)
            )
            for unit_id, campaign_id, phase_id, threshold in rows:
                found[(unit_id, campaign_id, phase_id)] = threshold
        return found


def _row(stored: Any, decided_threshold: float | None) -> Row:
    return Row(
        unit_id=stored.unit_id,
        campaign_id=stored.campaign_id,
        phase_id=stored.phase_id,
        phase_name=stored.phase_name,
        starts_on=stored.starts_on,
        ends_on=stored.ends_on,
        metric=stored.metric,
        value=stored.value,
        target=stored.target,
        as_of=stored.as_of,
        sequence=stored.sequence,
        at_risk=stored.at_risk,
        decided_threshold=decided_threshold,
        outcome=None if stored.outcome is None else Status(stored.outcome),
    )


async def unit_names(connection: AsyncConnection, unit_ids: Collection[str]) -> dict[str, str]:
    """Names of units as the read models know them now (missing ids are left out)."""
    names: dict[str, str] = {}
    for chunk in chunks(sorted(unit_ids)):
        rows = await connection.execute(
            sa.select(published_units.c.unit_id, published_units.c.name).where(
                published_units.c.unit_id.in_(chunk)
            )
        )
        names.update({row.unit_id: row.name for row in rows})
    return names


def _record(row: Row) -> tuple[Any, ...]:
    """The row's key and ``STORED`` columns, its outcome by value."""
    stored = {column: getattr(row, column) for column in STORED}
    stored["outcome"] = None if row.outcome is None else row.outcome.value
    return (*row.key, *stored.values())
