"""The event store's append on PostgreSQL: one statement for a batch of any size.

The batch travels as one JSON document (the events encoded by ``pydantic_core`` in one call)
and ``jsonb_to_recordset`` turns it back into rows on the server: cheaper on both sides than a
parameter set per row, or an array per column that the driver checks element by element. The
statement then does in SQL what the SQLite path does in Python (:mod:`shared.eventstore.batch`):
it drops events stored before and repeats inside the batch (the first one wins), numbers each
stream's new events after its end, checks the expected versions, and inserts the events and
their outbox rows, or nothing when an expectation is stale. One statement: one round trip, and
all of it or none of it even without a transaction around it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.contracts.recorded import NewEvent
from shared.eventstore.batch import stale_streams

APPEND = sa.text(
    """
    WITH batch AS (
        SELECT * FROM ROWS FROM (
            jsonb_to_recordset(CAST(:batch AS jsonb)) AS (
                stream_id text, event_id text, type text, schema_version int,
                occurred_at timestamptz, data jsonb, metadata jsonb
            )
        ) WITH ORDINALITY AS b(
            stream_id, event_id, type, schema_version, occurred_at, data, metadata, n
        )
    ), fresh AS (
        SELECT DISTINCT ON (b.event_id) b.*, coalesce(last.version, 0) AS stream_end
        FROM batch b
        LEFT JOIN LATERAL (
            SELECT true AS stored FROM events e WHERE e.event_id = b.event_id LIMIT 1
        ) AS before ON true
        CROSS JOIN LATERAL (
            SELECT max(e.stream_version) AS version FROM events e WHERE e.stream_id = b.stream_id
        ) AS last
        WHERE before.stored IS NULL
        ORDER BY b.event_id, b.n
    ), stale AS (
        SELECT DISTINCT f.stream_id, f.stream_end AS version, expected.version::int AS expected
        FROM fresh f
        JOIN jsonb_each_text(CAST(:expected AS jsonb)) AS expected(stream_id, version)
            USING (stream_id)
        WHERE f.stream_end <> expected.version::int
    ), stored AS (
        INSERT INTO events (
            stream_id, stream_version, event_id, type, schema_version, occurred_at,
            recorded_at, data, metadata
        )
        SELECT f.stream_id,
            f.stream_end + row_number() OVER (PARTITION BY f.stream_id ORDER BY f.n),
            f.event_id, f.type, f.schema_version, f.occurred_at,
            CAST(:recorded_at AS timestamptz), f.data, f.metadata
        FROM fresh f
        WHERE NOT EXISTS (SELECT FROM stale)
        ORDER BY f.n
        RETURNING position, stream_id, stream_version, event_id
    ), queued AS (
        INSERT INTO outbox (position, stream_id, created_at)
        SELECT position, stream_id, CAST(:recorded_at AS timestamptz)
        FROM stored WHERE CAST(:outbox AS boolean)
    )
    SELECT array_agg(event_id) AS event_ids, array_agg(position) AS positions,
        array_agg(stream_version) AS versions,
        (SELECT array_agg(ARRAY[stream_id, version::text, expected::text]) FROM stale) AS stale
    FROM stored
    """
)
"""Positions follow the batch's order (``ORDER BY f.n``), so a stream's versions ascend with
them. Each event's check of its id and of its stream's end are one probe each of the
``event_id`` index and one backward step in the ``(stream_id, stream_version)`` index, as
lateral subqueries the planner cannot turn into joins: the batch's rows are known only when it
runs, and a join planned on a guess scanned all of ``events`` (a test holds the plan).
The result is one row of arrays (decoded by the driver, not a row object per event): the stored
events, or, when nothing was stored, the stale streams."""


async def append(
    connection: AsyncConnection,
    events: Sequence[NewEvent],
    expected_versions: Mapping[str, int] | None,
    recorded_at: dt.datetime,
    outbox: bool,
) -> dict[str, tuple[int, int]]:
    """Append what is new in ``events``; event id → (position, version) of each one stored.

    Raises :class:`~shared.eventstore.port.ConcurrencyConflict` when a stream with new events
    is not at the version expected of it (nothing is stored then)."""
    rows = await connection.execute(
        APPEND,
        {
            "batch": to_json(events).decode(),
            "expected": to_json(expected_versions or {}).decode(),
            "recorded_at": recorded_at,
            "outbox": outbox,
        },
    )
    event_ids, positions, versions, stale = rows.one()
    if stale:
        raise stale_streams({stream: (int(at), int(expected)) for stream, at, expected in stale})
    return dict(
        zip(event_ids or (), zip(positions or (), versions or (), strict=True), strict=True)
    )
