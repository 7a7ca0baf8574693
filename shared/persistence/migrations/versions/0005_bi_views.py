# ruff: noqa: E501 - frozen SQL text, kept exactly as rendered
"""SQL views over the read models for BI tools: v_progress, v_series, v_breakdowns,
v_initiatives (documented in docs/read-models.md).

The statements are frozen here as rendered on the day; ``services.projector.bi_views`` renders
the current ones, and a test keeps the two equal until a new migration replaces the views.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CREATE_VIEWS = (
    """CREATE VIEW v_progress AS
SELECT
  t.unit_id, u.name AS unit_name, u.level, u.parent_id, u.cluster, u.state,
  t.campaign_id, t.phase_id, t.name AS phase_name, t.starts_on, t.ends_on,
  COALESCE(t.metric, 'submitted') AS metric, t.kind AS target_kind, t.value AS target_value,
  t.members, t.source_unit_id, t.required AS target,
  COALESCE(p.registered, 0) AS status_registered,
  COALESCE(p.under_review, 0) AS status_under_review,
  COALESCE(p.revision_requested, 0) AS status_revision_requested,
  COALESCE(p.approved, 0) AS status_approved,
  COALESCE(p.rejected, 0) AS status_rejected,
  COALESCE(p.recognized, 0) AS status_recognized,
  COALESCE(p.withdrawn, 0) AS status_withdrawn,
  COALESCE(p.under_review, 0) + COALESCE(p.revision_requested, 0) + COALESCE(p.approved, 0) + COALESCE(p.rejected, 0) + COALESCE(p.recognized, 0) AS submitted,
  COALESCE(p.approved, 0) + COALESCE(p.recognized, 0) AS approved,
  CASE WHEN t.metric = 'approved' THEN COALESCE(p.approved, 0) + COALESCE(p.recognized, 0) ELSE COALESCE(p.under_review, 0) + COALESCE(p.revision_requested, 0) + COALESCE(p.approved, 0) + COALESCE(p.rejected, 0) + COALESCE(p.recognized, 0) END AS value,
  CASE WHEN t.required > 0 THEN CAST(CASE WHEN t.metric = 'approved' THEN COALESCE(p.approved, 0) + COALESCE(p.recognized, 0) ELSE COALESCE(p.under_review, 0) + COALESCE(p.revision_requested, 0) + COALESCE(p.approved, 0) + COALESCE(p.rejected, 0) + COALESCE(p.recognized, 0) END AS DOUBLE PRECISION) / t.required END AS ratio
FROM rm_targets t
JOIN rm_units u ON u.unit_id = t.unit_id
LEFT JOIN rm_progress p
  ON p.unit_id = t.unit_id AND p.campaign_id = t.campaign_id AND p.phase_id = t.phase_id""",
    """CREATE VIEW v_series AS
SELECT
  s.unit_id, u.name AS unit_name, s.campaign_id, s.day, s.submitted, s.approved,
  SUM(s.submitted) OVER (PARTITION BY s.unit_id, s.campaign_id ORDER BY s.day)
    AS submitted_cumulative,
  SUM(s.approved) OVER (PARTITION BY s.unit_id, s.campaign_id ORDER BY s.day)
    AS approved_cumulative
FROM rm_series_daily s
JOIN rm_units u ON u.unit_id = s.unit_id""",
    """CREATE VIEW v_breakdowns AS
SELECT b.unit_id, u.name AS unit_name, b.campaign_id, b.dimension, b.value, b.submitted, b.approved
FROM rm_breakdowns b
JOIN rm_units u ON u.unit_id = b.unit_id""",
    """CREATE VIEW v_initiatives AS
SELECT
  i.initiative_id, i.campaign_id, i.unit_id, u.name AS unit_name, i.status, i.title,
  i.category, i.solution_type, i.bucket_date, i.registered_at, i.first_submitted_at,
  i.approved_at, i.rejected_at, i.recognized_at, i.withdrawn_at, i.updated_at
FROM rm_initiatives i
LEFT JOIN rm_units u ON u.unit_id = i.unit_id""",
)

DROP_VIEWS = (
    """DROP VIEW IF EXISTS v_initiatives""",
    """DROP VIEW IF EXISTS v_breakdowns""",
    """DROP VIEW IF EXISTS v_series""",
    """DROP VIEW IF EXISTS v_progress""",
)


def upgrade() -> None:
    for statement in CREATE_VIEWS:
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_VIEWS:
        op.execute(statement)
