"""Table definitions shared by the migrations and the SQL adapters (PostgreSQL and SQLite)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Position = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """An aware timestamp stored in UTC; SQLite would otherwise hand back naive values."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        stamp: dt.datetime = value
        return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


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
    metadata,
    sa.Column(
        "position",
        Position,
        sa.ForeignKey("events.position", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("stream_id", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

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

dead_letters = sa.Table(
    "dead_letters",
    metadata,
    sa.Column("id", Position, primary_key=True, autoincrement=True),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("origin", Json, nullable=False),
    sa.Column("dead_lettered_at", UtcDateTime, nullable=False),
)

# -- read models (projector) ---------------------------------------------------------------
# Every figure is a count of initiatives in one status; the submitted and approved metrics
# are sums of these columns, so a transition is always "-1 here, +1 there".
STATUS_COLUMNS = (
    "registered",
    "under_review",
    "revision_requested",
    "approved",
    "rejected",
    "recognized",
    "withdrawn",
)


def _status_counts() -> list[sa.Column[int]]:
    return [
        sa.Column(name, sa.Integer, nullable=False, server_default="0") for name in STATUS_COLUMNS
    ]


rm_units = sa.Table(
    "rm_units",
    metadata,
    sa.Column("unit_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("name_folded", sa.String(500), nullable=False, index=True),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("parent_id", sa.String(128), index=True),
    sa.Column("cluster", sa.String(128)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("merged_into", sa.String(128)),
)

rm_closure = sa.Table(
    "rm_closure",
    metadata,
    sa.Column("ancestor_id", sa.String(128), primary_key=True),
    sa.Column("descendant_id", sa.String(128), primary_key=True, index=True),
    sa.Column("depth", sa.Integer, nullable=False),
)

rm_lineage = sa.Table(
    "rm_lineage",
    metadata,
    sa.Column("ancestor_id", sa.String(128), primary_key=True),
    sa.Column("descendant_id", sa.String(128), primary_key=True, index=True),
    sa.Column("valid_from", UtcDateTime, primary_key=True),
    sa.Column("valid_to", UtcDateTime, nullable=False),
    sa.Column("depth", sa.Integer, nullable=False),
)
"""``rm_closure`` through time: the descendant stood below the ancestor from ``valid_from``
(inclusive) to ``valid_to`` (exclusive). An initiative counts for the ancestors of its unit
at its ``attributed_at``; this table answers "which initiatives count for X" in history."""

rm_initiatives = sa.Table(
    "rm_initiatives",
    metadata,
    sa.Column("initiative_id", sa.String(128), primary_key=True),
    sa.Column("campaign_id", sa.String(128), nullable=False),
    sa.Column("unit_id", sa.String(128), nullable=False, index=True),
    sa.Column("filed_unit_id", sa.String(128), nullable=False, index=True),
    sa.Column("attributed_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("title", sa.String(500), nullable=False),
    sa.Column("title_folded", sa.String(500), nullable=False),
    sa.Column("category", sa.String(500)),
    sa.Column("solution_type", sa.String(32)),
    sa.Column("author_types", Json, nullable=False),
    sa.Column("author_keys", Json, nullable=False, server_default="[]"),
    sa.Column("bucket_date", sa.Date, nullable=False),
    sa.Column("registered_at", UtcDateTime),
    sa.Column("first_submitted_at", UtcDateTime),
    sa.Column("approved_at", UtcDateTime),
    sa.Column("rejected_at", UtcDateTime),
    sa.Column("recognized_at", UtcDateTime),
    sa.Column("withdrawn_at", UtcDateTime),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

rm_initiative_authors = sa.Table(
    "rm_initiative_authors",
    metadata,
    sa.Column("initiative_id", sa.String(128), primary_key=True),
    sa.Column("author_key", sa.String(64), primary_key=True),
)
"""Each initiative's distinct authors as pseudonymous keys (``rm_initiatives.author_keys``
as rows), so distinct authors over a subtree are one ``COUNT(DISTINCT)`` in SQL."""

rm_initiative_history = sa.Table(
    "rm_initiative_history",
    metadata,
    sa.Column("initiative_id", sa.String(128), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
)

rm_rollup_daily = sa.Table(
    "rm_rollup_daily",
    metadata,
    sa.Column("unit_id", sa.String(128), primary_key=True),
    sa.Column("campaign_id", sa.String(128), primary_key=True),
    sa.Column("bucket_date", sa.Date, primary_key=True),
    *_status_counts(),
)

rm_progress = sa.Table(
    "rm_progress",
    metadata,
    sa.Column("unit_id", sa.String(128), primary_key=True),
    sa.Column("campaign_id", sa.String(128), primary_key=True),
    sa.Column("phase_id", sa.String(128), primary_key=True),
    *_status_counts(),
)


def _phase_target() -> list[sa.Column[Any]]:
    """A phase's window and its resolved target, as ``rm_targets`` and its history keep them."""
    return [
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("metric", sa.String(16)),
        sa.Column("kind", sa.String(24)),
        sa.Column("value", sa.String(32)),
        sa.Column("required", sa.Integer),
        sa.Column("members", sa.Integer),
        sa.Column("source_unit_id", sa.String(128)),
    ]


rm_targets = sa.Table(
    "rm_targets",
    metadata,
    sa.Column("unit_id", sa.String(128), primary_key=True),
    sa.Column("campaign_id", sa.String(128), primary_key=True),
    sa.Column("phase_id", sa.String(128), primary_key=True),
    *_phase_target(),
)

rm_target_history = sa.Table(
    "rm_target_history",
    metadata,
    sa.Column("unit_id", sa.String(128), primary_key=True),
    sa.Column("campaign_id", sa.String(128), primary_key=True),
    sa.Column("phase_id", sa.String(128), primary_key=True),
    sa.Column("valid_from", UtcDateTime, primary_key=True),
    sa.Column("valid_to", UtcDateTime, nullable=False),
    sa.Column("listed", sa.Boolean, nullable=False),
    *_phase_target(),
)
"""Each unit's phases and targets as they stood from ``valid_from`` to ``valid_to``: the
phase scheme governing the unit then (initiatives first submitted in that stretch count in
it) and the targets "as of" answers show. A row is ``listed`` when the phase's dates meet
that stretch (a scheme replaced before a phase began never shows it); ``rm_targets`` holds
each phase's latest listed row."""

rm_series_daily = sa.Table(
    "rm_series_daily",
    metadata,
    sa.Column("unit_id", sa.String(128), primary_key=True),
    sa.Column("campaign_id", sa.String(128), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("submitted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("approved", sa.Integer, nullable=False, server_default="0"),
)

rm_breakdowns = sa.Table(
    "rm_breakdowns",
    metadata,
    sa.Column("unit_id", sa.String(128), primary_key=True),
    sa.Column("campaign_id", sa.String(128), primary_key=True),
    sa.Column("dimension", sa.String(16), primary_key=True),
    sa.Column("value", sa.String(500), primary_key=True),
    sa.Column("submitted", sa.Integer, nullable=False, server_default="0"),
    sa.Column("approved", sa.Integer, nullable=False, server_default="0"),
)

rm_stream_versions = sa.Table(
    "rm_stream_versions",
    metadata,
    sa.Column("stream_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)

rm_checkpoints = sa.Table(
    "rm_checkpoints",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", Position, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

rm_quarantine = sa.Table(
    "rm_quarantine",
    metadata,
    sa.Column("stream_id", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("position", Position, nullable=False),
    sa.Column("type", sa.String(100), nullable=False),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("quarantined_at", UtcDateTime, nullable=False),
)
"""Streams the projector stopped applying at ``version``: the event there could not be
applied, so it and every later event of the stream wait in the store until an operator
retries them (``initiatives projector quarantine``)."""

progress_outbox = sa.Table(
    "progress_outbox",
    metadata,
    sa.Column("id", Position, primary_key=True, autoincrement=True),
    sa.Column("unit_id", sa.String(128), nullable=False),
    sa.Column("payload", Json, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # Ids are the changes' sequence: SQLite must never reuse one after the outbox empties.
    sqlite_autoincrement=True,
)

# -- notifier ------------------------------------------------------------------------------
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
