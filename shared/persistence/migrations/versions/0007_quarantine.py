"""Projector: streams quarantined at an event that could not be applied.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.persistence.types import Position, UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rm_quarantine",
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("position", Position, nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("quarantined_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rm_quarantine")
