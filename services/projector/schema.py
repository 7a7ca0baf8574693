"""The projector's tables: the read models and its own bookkeeping (applied stream
versions, checkpoints, quarantine).

Owned by the projector: only it writes them and only its query API reads them. Other
services read the units and their closure through the published views
(:mod:`shared.persistence.published`), never these tables."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from shared.persistence.types import Json, Position, UtcDateTime

metadata = sa.MetaData()

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
WHOLE_CAMPAIGN = ""
"""``phase_id`` of the ``rm_progress``/``rm_targets`` row that sums every phase of a plan."""


PHASE_ROW = ("unit_id", "campaign_id", "phase_id")
"""The key of a unit's phase: of its target, its counts and its progress changes."""


def same_phase_row(counts: sa.FromClause, targets: sa.FromClause) -> sa.ColumnElement[bool]:
    """The join of a phase's counts to its target."""
    return sa.and_(*(counts.c[name] == targets.c[name] for name in PHASE_ROW))


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
    sa.Column("approved_on", sa.Date),
    sa.Column("withdrawn_on", sa.Date),
    sa.Column("registered_at", UtcDateTime),
    sa.Column("first_submitted_at", UtcDateTime),
    sa.Column("approved_at", UtcDateTime),
    sa.Column("rejected_at", UtcDateTime),
    sa.Column("recognized_at", UtcDateTime),
    sa.Column("withdrawn_at", UtcDateTime),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)
"""One row per initiative. ``bucket_date`` is the local day of its attribution (of its first
submission, once submitted); ``approved_on`` and ``withdrawn_on`` are the local days of those
steps, kept so that a unit's own daily series is counted from these rows on read."""

rm_initiative_authors = sa.Table(
    "rm_initiative_authors",
    metadata,
    sa.Column("initiative_id", sa.String(128), primary_key=True),
    sa.Column("author_key", sa.String(64), primary_key=True),
    sa.Index("ix_rm_initiative_authors_author_key", "author_key"),
)
"""Each initiative's distinct authors as pseudonymous keys (``rm_initiatives.author_keys``
as rows), so distinct authors over a subtree are one ``COUNT(DISTINCT)`` in SQL, and the
initiatives naming an author are found by the index (:mod:`services.projector.authors`)."""

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
    sa.Column("authors", sa.Integer, nullable=False, server_default="0"),
)
"""Status counts per unit and phase, and the distinct authors of the initiatives counted
(derived from the initiatives' rows: :mod:`services.projector.authors`)."""


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
    # Every batch rewrites its streams' rows: room on each page keeps the new version beside
    # the old one (a HOT update, no new index entry). Migration 0017 says what it measured.
    postgresql_with={"fillfactor": 50},
)

rm_checkpoints = sa.Table(
    "rm_checkpoints",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", Position, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

rm_revision = sa.Table(
    "rm_revision",
    metadata,
    sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
    sa.Column("revision", sa.BigInteger, nullable=False),
)
"""One row, redrawn at random by every transaction that changes the read models: a reader
that read the same number before and after knows nothing changed in between (the numbers
have no order, so a table swapped in by a rebuild cannot repeat an old one by counting)."""

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
