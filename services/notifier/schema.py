"""The notifier's tables: its copy of the figures, decisions, subscriptions, deliveries.

Owned by the notifier: only it writes them. The dashboard reads decisions through the
published view (:mod:`shared.persistence.published`), never these tables."""

from __future__ import annotations

import sqlalchemy as sa

from shared.persistence.types import Json, Position, UtcDateTime

metadata = sa.MetaData()

nt_progress = sa.Table(
    "nt_progress",
    metadata,
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
    sa.Column("sequence", Position),
    sa.Column("outcome", sa.String(16)),
)
_awaiting_outcome = sa.and_(nt_progress.c.outcome.is_(None), nt_progress.c.target.is_not(None))
sa.Index(
    "ix_nt_progress_awaiting_outcome",
    nt_progress.c.ends_on,
    postgresql_where=_awaiting_outcome,
    sqlite_where=_awaiting_outcome,
)
"""The rows whose outcome is still to be judged: few at any time, read at every catch-up."""

nt_decisions = sa.Table(
    "nt_decisions",
    metadata,
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

nt_subscriptions = sa.Table(
    "nt_subscriptions",
    metadata,
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

nt_deliveries = sa.Table(
    "nt_deliveries",
    metadata,
    sa.Column("id", Position, primary_key=True, autoincrement=True),
    sa.Column("decision_id", Position, sa.ForeignKey("nt_decisions.id"), nullable=False),
    sa.Column("subscription_id", Position, sa.ForeignKey("nt_subscriptions.id"), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("decision_id", "subscription_id", name="uq_delivery_once"),
)

nt_attempts = sa.Table(
    "nt_attempts",
    metadata,
    sa.Column("id", Position, primary_key=True, autoincrement=True),
    sa.Column(
        "delivery_id", Position, sa.ForeignKey("nt_deliveries.id"), nullable=False, index=True
    ),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
)

nt_clock = sa.Table(
    "nt_clock",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("checked_until", UtcDateTime, nullable=False),
)
