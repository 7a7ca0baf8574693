"""Projector read models: units and closure, initiatives, daily rollups, progress, targets,
time series, breakdowns, and the projector's stream versions and checkpoints.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.persistence.types import Json, Position, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

STATUSES = (
    "registered",
    "under_review",
    "revision_requested",
    "approved",
    "rejected",
    "recognized",
    "withdrawn",
)


def counts() -> list[sa.Column[int]]:
    return [sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in STATUSES]


def key(name: str, length: int = 128) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "rm_units",
        key("unit_id"),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("name_folded", sa.String(500), nullable=False, index=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.String(128), index=True),
        sa.Column("cluster", sa.String(128)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("merged_into", sa.String(128)),
    )
    op.create_table(
        "rm_closure",
        key("ancestor_id"),
        sa.Column("descendant_id", sa.String(128), primary_key=True, index=True),
        sa.Column("depth", sa.Integer, nullable=False),
    )
    op.create_table(
        "rm_initiatives",
        key("initiative_id"),
        sa.Column("campaign_id", sa.String(128), nullable=False),
        sa.Column("unit_id", sa.String(128), nullable=False, index=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("title_folded", sa.String(500), nullable=False),
        sa.Column("category", sa.String(500)),
        sa.Column("solution_type", sa.String(32)),
        sa.Column("author_types", Json, nullable=False),
        sa.Column("bucket_date", sa.Date, nullable=False),
        sa.Column("registered_at", UtcDateTime),
        sa.Column("first_submitted_at", UtcDateTime),
        sa.Column("approved_at", UtcDateTime),
        sa.Column("rejected_at", UtcDateTime),
        sa.Column("recognized_at", UtcDateTime),
        sa.Column("withdrawn_at", UtcDateTime),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "rm_initiative_history",
        key("initiative_id"),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
    )
    op.create_table(
        "rm_rollup_daily",
        key("unit_id"),
        key("campaign_id"),
        sa.Column("bucket_date", sa.Date, primary_key=True),
        *counts(),
    )
    op.create_table("rm_progress", key("unit_id"), key("campaign_id"), key("phase_id"), *counts())
    op.create_table(
        "rm_targets",
        key("unit_id"),
        key("campaign_id"),
        key("phase_id"),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("metric", sa.String(16)),
        sa.Column("kind", sa.String(24)),
        sa.Column("value", sa.String(32)),
        sa.Column("required", sa.Integer),
        sa.Column("members", sa.Integer),
        sa.Column("source_unit_id", sa.String(128)),
    )
    op.create_table(
        "rm_series_daily",
        key("unit_id"),
        key("campaign_id"),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("submitted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("approved", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "rm_breakdowns",
        key("unit_id"),
        key("campaign_id"),
        key("dimension", 16),
        key("value", 500),
        sa.Column("submitted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("approved", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "rm_stream_versions",
        key("stream_id", 200),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "rm_checkpoints",
        key("name", 64),
        sa.Column("position", Position, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "rm_checkpoints",
        "rm_stream_versions",
        "rm_breakdowns",
        "rm_series_daily",
        "rm_targets",
        "rm_progress",
        "rm_rollup_daily",
        "rm_initiative_history",
        "rm_initiatives",
        "rm_closure",
        "rm_units",
    ):
        op.drop_table(table)
