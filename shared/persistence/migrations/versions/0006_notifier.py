"""Notifier: its copy of progress, decisions (unique per key), subscriptions, deliveries
(the outbox of messages to send), every delivery attempt, and the clock's high-water mark.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.persistence.types import Json, Position, UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nt_progress",
        sa.Column("unit_id", sa.String(128), primary_key=True),
        sa.Column("campaign_id", sa.String(128), primary_key=True),
        sa.Column("phase_id", sa.String(128), primary_key=True),
        sa.Column("phase_name", sa.String(500), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("metric", sa.String(16)),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("target", sa.Integer),
        sa.Column("at_risk", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("as_of", UtcDateTime, nullable=False),
    )
    op.create_table(
        "nt_decisions",
        sa.Column("id", Position, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(600), nullable=False, unique=True),
        sa.Column("unit_id", sa.String(128), nullable=False, index=True),
        sa.Column("campaign_id", sa.String(128), nullable=False),
        sa.Column("phase_id", sa.String(128), nullable=False),
        sa.Column("rule", sa.String(32), nullable=False),
        sa.Column("threshold", sa.Float),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("target", sa.Integer),
        sa.Column("details", Json, nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "nt_subscriptions",
        sa.Column("id", Position, primary_key=True, autoincrement=True),
        sa.Column("official", sa.String(200), nullable=False),
        sa.Column("unit_id", sa.String(128), nullable=False, index=True),
        sa.Column("include_descendants", sa.Boolean, nullable=False),
        sa.Column("rules", Json, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(200)),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("digest", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "nt_deliveries",
        sa.Column("id", Position, primary_key=True, autoincrement=True),
        sa.Column("decision_id", Position, sa.ForeignKey("nt_decisions.id"), nullable=False),
        sa.Column(
            "subscription_id", Position, sa.ForeignKey("nt_subscriptions.id"), nullable=False
        ),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UtcDateTime, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.UniqueConstraint("decision_id", "subscription_id", name="uq_delivery_once"),
    )
    op.create_table(
        "nt_attempts",
        sa.Column("id", Position, primary_key=True, autoincrement=True),
        sa.Column(
            "delivery_id", Position, sa.ForeignKey("nt_deliveries.id"), nullable=False, index=True
        ),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_table(
        "nt_clock",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("checked_until", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "nt_clock",
        "nt_attempts",
        "nt_deliveries",
        "nt_subscriptions",
        "nt_decisions",
        "nt_progress",
    ):
        op.drop_table(table)
