"""Ingest: parked out-of-order facts and dead letters (embedded mode's DLQ).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.persistence.types import Json, Position, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parked_events",
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
    op.create_table(
        "dead_letters",
        sa.Column("id", Position, primary_key=True, autoincrement=True),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("origin", Json, nullable=False),
        sa.Column("dead_lettered_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dead_letters")
    op.drop_table("parked_events")
