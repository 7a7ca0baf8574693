"""The event store's tables: every fact once, in order, and the outbox its relay drains.

Owned by the event store (ingest appends; the projector reads through the store's port and
the rebuild through :mod:`shared.eventstore.sql`); no other table refers to them."""

from __future__ import annotations

import sqlalchemy as sa

from shared.persistence.types import Json, Position, UtcDateTime

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("position", Position, primary_key=True, autoincrement=True),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("stream_version", sa.Integer, nullable=False),
    sa.Column("event_id", sa.String(200), nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("occurred_at", UtcDateTime, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Column("data", Json, nullable=False),
    sa.Column("metadata", Json, nullable=False),
    sa.UniqueConstraint("stream_id", "stream_version", name="uq_events_stream_version"),
    sa.UniqueConstraint("event_id", name="uq_events_event_id"),
)

outbox = sa.Table(
    "outbox",
    # ``position`` is an event's, written by the statement that writes the event; no foreign
    # key checks it (migration 0013 says why), and events are never deleted.
    metadata,
    sa.Column("position", Position, primary_key=True, autoincrement=False),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)
