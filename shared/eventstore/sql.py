"""The event store on SQLAlchemy async: PostgreSQL (asyncpg) in production, SQLite embedded.

One transaction per batch: duplicate check, version check, multi-row insert and outbox rows
(on PostgreSQL one statement whatever the batch size, see ``pg_append``).
A concurrent writer that wins a stream version makes ours fail on the unique constraint,
which surfaces as :class:`ConcurrencyConflict` for the caller to retry.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import polars as pl
import sqlalchemy as sa
from pydantic_core import from_json
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.clock import Clock, utc_now
from shared.contracts.base import REFERENCE_STREAM
from shared.contracts.recorded import (
    EventMetadata,
    NewEvent,
    RecordedEvent,
    StoredFact,
    wire_of,
)
from shared.eventstore import pg_append
from shared.eventstore.batch import fresh_events, outcomes, plan_versions
from shared.eventstore.frames import PayloadFields, frame_of, frame_of_csv
from shared.eventstore.port import AppendOutcome, ConcurrencyConflict, OutboxBacklog, OutboxMessage
from shared.eventstore.schema import events, outbox
from shared.eventstore.unsent import Unsent
from shared.persistence.copy import copy_select
from shared.persistence.lookup import among, in_array
from shared.wakeup import Wakeup

_COLUMNS = (
    events.c.position,
    events.c.stream_id,
    events.c.stream_version,
    events.c.event_id,
    events.c.type,
    events.c.schema_version,
    events.c.occurred_at,
    events.c.recorded_at,
    events.c.data,
    events.c.metadata,
)
"""In the order of ``RecordedEvent``'s fields."""

_WIRE_COLUMNS = (
    *_COLUMNS[:-2],
    sa.cast(events.c.data, sa.Text).label("data"),
    sa.cast(events.c.metadata, sa.Text).label("metadata"),
)
"""The same, with the JSON columns as text: parsed in Rust for the wire, not by the driver."""

_FACT_COLUMNS = (
    events.c.position,
    events.c.stream_id,
    events.c.stream_version,
    events.c.type,
    events.c.schema_version,
    events.c.occurred_at,
    sa.cast(events.c.data, sa.Text).label("data"),
)
"""In the order of ``StoredFact``'s fields."""
WIRE_FACT_COLUMNS = (
    *_FACT_COLUMNS[:5],
    sa.cast(sa.extract("epoch", events.c.occurred_at) * 1_000_000, sa.BigInteger),
    _FACT_COLUMNS[6],
)
"""The same as ``COPY`` sends them to :func:`shared.eventstore.frames.frame_of_csv`."""


def _array_text(value: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """A ``jsonb`` array as its text; null for anything else (JSON ``null`` included)."""
    return sa.case((sa.func.jsonb_typeof(value) == "array", sa.cast(value, sa.Text)))


def _extracted(fields: PayloadFields) -> tuple[sa.ColumnElement[Any], ...]:
    """:data:`WIRE_FACT_COLUMNS` with ``fields`` in place of the payload
    (:meth:`PayloadFields.schema`)."""
    data = events.c.data

    def absent_or(name: str, kind: str) -> sa.ColumnElement[bool]:
        """Whether the field ``name`` is absent, null or of JSON type ``kind``."""
        found = sa.func.nullif(sa.func.jsonb_typeof(data[name]), "null")
        return sa.func.coalesce(found, kind) == kind

    typed = sa.and_(
        sa.func.jsonb_typeof(data) == "object",
        *(absent_or(name, "string") for name in fields.strings),
        *(absent_or(name, "array") for name in fields.lists),
    )
    return (
        *WIRE_FACT_COLUMNS[:6],
        *(data[name].as_string() for name in fields.strings),
        *(_array_text(data[name]) for name in fields.lists),
        sa.cast(typed, sa.Text),  # true or false, as the engine reads a boolean
    )


_STREAM_AFTER = (
    sa.select(*_COLUMNS)
    .where(
        events.c.stream_id == sa.bindparam("stream_id", type_=events.c.stream_id.type),
        events.c.stream_version > sa.bindparam("after", type_=sa.Integer),
    )
    .order_by(events.c.stream_version)
)
_STREAM_PAGE = _STREAM_AFTER.limit(sa.bindparam("limit", type_=sa.Integer))
_BY_STREAM = sa.select(*_COLUMNS).order_by(events.c.stream_id, events.c.stream_version)
_STREAMS = _BY_STREAM.where(in_array(events.c.stream_id, "streams"))
_KNOWN = sa.select(events.c.event_id).where(in_array(events.c.event_id, "event_ids"))
"""Statements every batch of ingest and of the projector asks, built once: building and
hashing one cost more Python than the database took to answer it. PostgreSQL takes lists
as one array; other dialects are given the list statement by statement."""


def _record(row: sa.Row[*tuple[Any, ...]]) -> RecordedEvent:
    return RecordedEvent(
        position=row.position,
        stream_id=row.stream_id,
        stream_version=row.stream_version,
        event_id=row.event_id,
        type=row.type,
        schema_version=row.schema_version,
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
        data=row.data,
        metadata=EventMetadata.model_validate(row.metadata),
    )


class SqlEventStore:
    def __init__(self, engine: AsyncEngine, clock: Clock = utc_now, outbox: bool = True) -> None:
        self._engine = engine
        self._clock = clock
        self._use_outbox = outbox
        self._unsent = Unsent()
        self.appended = Wakeup()
        """Woken when this instance committed events to the outbox, for a relay in-process."""

    @asynccontextmanager
    async def _atomic_statements(self) -> AsyncIterator[AsyncConnection]:
        """A connection for work whose every statement stands alone on PostgreSQL (a write
        that is one statement, a read that is one query), so that each may commit by itself:
        autocommit spares the BEGIN and the COMMIT or ROLLBACK, two of a read's three round
        trips. On SQLite, whose append takes several statements, a transaction."""
        if self._engine.dialect.name != "postgresql":
            async with self._engine.begin() as connection:
                yield connection
            return
        async with self._engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    async def append(
        self, events_: Sequence[NewEvent], expected_versions: Mapping[str, int] | None = None
    ) -> list[AppendOutcome]:
        if not events_:
            return []
        recorded_at = self._clock()
        try:
            async with self._atomic_statements() as connection:
                appended = await self._append(connection, events_, expected_versions, recorded_at)
        except IntegrityError as error:
            raise ConcurrencyConflict(
                {event.stream_id for event in events_}, str(error.orig)
            ) from error
        if self._use_outbox and appended:
            self._unsent.keep(events_, appended, recorded_at)
            self.appended.wake()
        return outcomes(events_, appended)

    async def _append(
        self,
        connection: AsyncConnection,
        events_: Sequence[NewEvent],
        expected_versions: Mapping[str, int] | None,
        recorded_at: dt.datetime,
    ) -> dict[str, tuple[int, int]]:
        if connection.dialect.name == "postgresql":
            return await pg_append.append(
                connection, events_, expected_versions, recorded_at, self._use_outbox
            )
        known = await self._known(connection, {event.event_id for event in events_})
        fresh = fresh_events(events_, known)
        if not fresh:
            return {}
        current = await self._versions(connection, {event.stream_id for event in fresh})
        planned = plan_versions(fresh, current, expected_versions)
        rows = [
            {
                "stream_id": item.event.stream_id,
                "stream_version": item.stream_version,
                "event_id": item.event.event_id,
                "type": item.event.type,
                "schema_version": item.event.schema_version,
                "occurred_at": item.event.occurred_at,
                "recorded_at": recorded_at,
                "data": item.event.data,
                "metadata": item.event.metadata.model_dump(mode="json"),
            }
            for item in planned
        ]
        inserted = await connection.execute(
            events.insert().returning(
                events.c.position,
                events.c.event_id,
                events.c.stream_version,
                sort_by_parameter_order=True,
            ),
            rows,
        )
        appended = {row.event_id: (row.position, row.stream_version) for row in inserted}
        if self._use_outbox:
            await connection.execute(
                outbox.insert(),
                [
                    {"position": position, "stream_id": row["stream_id"], "created_at": recorded_at}
                    for row, (position, _) in zip(rows, appended.values(), strict=True)
                ],
            )
        return appended

    @staticmethod
    async def _known(connection: AsyncConnection, event_ids: Collection[str]) -> set[str]:
        listed = list(set(event_ids))
        if connection.dialect.name == "postgresql":
            return set((await connection.execute(_KNOWN, {"event_ids": listed})).scalars())
        known: set[str] = set()
        for condition in among(connection.dialect, events.c.event_id, listed):
            known.update(
                (await connection.execute(sa.select(events.c.event_id).where(condition))).scalars()
            )
        return known

    @staticmethod
    async def _versions(connection: AsyncConnection, stream_ids: Collection[str]) -> dict[str, int]:
        ends: dict[str, int] = {}
        for condition in among(connection.dialect, events.c.stream_id, list(stream_ids)):
            result = await connection.execute(
                sa.select(events.c.stream_id, sa.func.max(events.c.stream_version))
                .where(condition)
                .group_by(events.c.stream_id)
            )
            ends.update(result.all())
        return ends

    async def read_stream(
        self, stream_id: str, after_version: int = 0, limit: int | None = None
    ) -> list[RecordedEvent]:
        asked: dict[str, Any] = {"stream_id": stream_id, "after": after_version}
        async with self._atomic_statements() as connection:
            if limit is None:
                result = await connection.execute(_STREAM_AFTER, asked)
            else:
                result = await connection.execute(_STREAM_PAGE, asked | {"limit": limit})
            return [_record(row) for row in result]

    async def read_streams(self, stream_ids: Collection[str]) -> dict[str, list[RecordedEvent]]:
        found: dict[str, list[RecordedEvent]] = {}
        if not stream_ids:
            return found
        async with self._atomic_statements() as connection:
            if connection.dialect.name == "postgresql":
                result = await connection.execute(_STREAMS, {"streams": list(stream_ids)})
            else:
                result = await connection.execute(
                    _BY_STREAM.where(events.c.stream_id.in_(list(stream_ids)))
                )
            for row in result:
                found.setdefault(row.stream_id, []).append(_record(row))
        return found

    async def read_all(
        self, after: int = 0, batch_size: int = 1000
    ) -> AsyncIterator[RecordedEvent]:
        query = (
            sa.select(*_COLUMNS)
            .where(events.c.position > after)
            .order_by(events.c.position)
            .execution_options(yield_per=batch_size)
        )
        async with self._engine.connect() as connection:
            result = await connection.stream(query)
            # Whole partitions: one hop into the driver per batch, not per row.
            async for partition in result.partitions():
                for row in partition:
                    yield _record(row)

    async def read_facts(self, after: int, limit: int) -> list[StoredFact]:
        """Up to ``limit`` events after position ``after``, in order, without metadata."""
        query = (
            sa.select(*_FACT_COLUMNS)
            .where(events.c.position > after)
            .order_by(events.c.position)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            result = await connection.execute(query)
            return [StoredFact(*row) for row in result]

    async def read_histories(
        self, after: str, until: int, limit: int, fields: PayloadFields | None = None
    ) -> pl.DataFrame:
        """Whole histories of the streams after ``after`` (in stream id order, each in version
        order), other than the reference stream, of the events up to position ``until``: at
        least ``limit`` events unless fewer are left, the last stream read never cut short.
        Read along the ``(stream_id, stream_version)`` index; on PostgreSQL with ``COPY``,
        decoded by the columnar engine (:mod:`shared.eventstore.frames`), and with ``fields``
        in place of the payload if given (elsewhere they are ignored: the payload comes)."""
        async with self._engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                read: _Read = functools.partial(_copied, fields=fields)
            else:
                read = _selected
            found = await read(connection, _histories, after, until, limit)
            if found.height < limit:
                return found
            last, version = found["stream_id"][-1], found["stream_version"][-1]
            rest = await read(connection, _rest_of_stream, last, until, version)
            return pl.concat([found, rest])

    async def read_history_facts(self, stream_ids: Collection[str], until: int) -> list[StoredFact]:
        """The events of ``stream_ids`` up to position ``until``, in stream and version order:
        the histories a columnar fold of :meth:`read_histories`'s frame left aside."""
        found: list[StoredFact] = []
        async with self._engine.connect() as connection:
            for condition in among(connection.dialect, events.c.stream_id, sorted(stream_ids)):
                query = (
                    sa.select(*_FACT_COLUMNS)
                    .where(condition, events.c.position <= until)
                    .order_by(events.c.stream_id, events.c.stream_version)
                )
                found += [StoredFact(*row) for row in await connection.execute(query)]
        return found

    async def known_event_ids(self, event_ids: Collection[str]) -> set[str]:
        if not event_ids:
            return set()
        async with self._atomic_statements() as connection:
            return await self._known(connection, event_ids)

    async def last_position(self) -> int:
        async with self._atomic_statements() as connection:
            last = await connection.scalar(sa.select(sa.func.max(events.c.position)))
        return int(last or 0)

    async def outbox_batch(self, limit: int) -> list[OutboxMessage]:
        """The oldest unpublished events; those this instance appended come from memory."""
        async with self._atomic_statements() as connection:
            queued = (
                await connection.execute(
                    sa.select(outbox.c.position).order_by(outbox.c.position).limit(limit)
                )
            ).scalars()
            found = {position: self._unsent.get(position) for position in queued}
            missing = [position for position, message in found.items() if message is None]
            for condition in among(connection.dialect, events.c.position, missing):
                for row in await connection.execute(sa.select(*_WIRE_COLUMNS).where(condition)):
                    found[row.position] = OutboxMessage(
                        row.position,
                        row.event_id,
                        row.stream_id,
                        wire_of((*row[:-2], from_json(row.data), from_json(row.metadata))),
                    )
        return [message for message in found.values() if message is not None]

    async def mark_published(self, positions: Collection[int]) -> None:
        if not positions:
            return
        self._unsent.forget(positions)
        async with self._atomic_statements() as connection:
            for condition in among(connection.dialect, outbox.c.position, list(positions)):
                await connection.execute(outbox.delete().where(condition))

    async def outbox_backlog(self) -> OutboxBacklog:
        async with self._atomic_statements() as connection:
            row = (
                await connection.execute(
                    sa.select(sa.func.count(), sa.func.min(outbox.c.created_at))
                )
            ).one()
        return OutboxBacklog(size=int(row[0]), oldest=row[1])


Query = Callable[[Sequence[sa.ColumnElement[Any]], str, int, int], sa.Select[Any]]
_Read = Callable[[AsyncConnection, Query, str, int, int], Awaitable[pl.DataFrame]]


def _histories(
    columns: Sequence[sa.ColumnElement[Any]], after: str, until: int, limit: int
) -> sa.Select[Any]:
    """The first ``limit`` events of the streams after ``after``, in stream order."""
    return (
        sa.select(*columns)
        .where(
            events.c.stream_id > after,
            events.c.stream_id != REFERENCE_STREAM,
            events.c.position <= until,
        )
        .order_by(events.c.stream_id, events.c.stream_version)
        .limit(limit)
    )


def _rest_of_stream(
    columns: Sequence[sa.ColumnElement[Any]], stream_id: str, until: int, version: int
) -> sa.Select[Any]:
    return (
        sa.select(*columns)
        .where(
            events.c.stream_id == stream_id,
            events.c.stream_version > version,
            events.c.position <= until,
        )
        .order_by(events.c.stream_version)
    )


async def _copied(
    connection: AsyncConnection,
    query: Query,
    text: str,
    until: int,
    number: int,
    fields: PayloadFields | None = None,
) -> pl.DataFrame:
    columns = WIRE_FACT_COLUMNS if fields is None else _extracted(fields)
    return frame_of_csv(await copy_select(connection, query(columns, text, until, number)), fields)


async def _selected(
    connection: AsyncConnection, query: Query, text: str, until: int, number: int
) -> pl.DataFrame:
    result = await connection.execute(query(_FACT_COLUMNS, text, until, number))
    return frame_of(StoredFact._make(row) for row in result)
