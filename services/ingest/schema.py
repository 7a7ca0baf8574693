"""Ingest's own table: portal facts waiting for a fact they depend on (parking)."""

from __future__ import annotations

import sqlalchemy as sa

from shared.persistence.types import Json, UtcDateTime

metadata = sa.MetaData()

parked_events = sa.Table(
    "parked_events",
    metadata,
    sa.Column("event_id", sa.String(200), primary_key=True),
    sa.Column("raw", sa.Text, nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("origin", Json, nullable=False),
    sa.Column("parked_at", UtcDateTime, nullable=False),
    sa.Column("retry_until", UtcDateTime, nullable=False),
    sa.Column("last_attempt_at", UtcDateTime, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
)
