"""Progress changes written with the batch that caused them, published after commit.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.persistence.types import Json, Position, UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "progress_outbox",
        sa.Column("id", Position, primary_key=True, autoincrement=True),
        sa.Column("unit_id", sa.String(128), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("progress_outbox")
