"""SQL views over the read models for BI tools (Metabase, Superset, Excel over ODBC).

Plain SQL that SQLite and PostgreSQL both accept, for a migration to create with
``op.execute``. The metric sums are generated from the domain's own rules, so a view never
disagrees with the API on what counts as submitted or approved. Statuses (at risk, missed)
depend on the clock and stay in the API.
"""

from __future__ import annotations

from shared.contracts.campaigns import Metric
from shared.domain.progress import metric_statuses
from shared.persistence.schema import STATUS_COLUMNS


def _sum(counts: str, rule_statuses: list[str]) -> str:
    return " + ".join(f"COALESCE({counts}.{status}, 0)" for status in rule_statuses)


_SUBMITTED = _sum("p", list(metric_statuses(Metric.SUBMITTED)))
_APPROVED = _sum("p", list(metric_statuses(Metric.APPROVED)))
_VALUE = f"CASE WHEN t.metric = 'approved' THEN {_APPROVED} ELSE {_SUBMITTED} END"
# Prefixed: the "approved" metric (approved + recognised) would clash with the status count.
_COUNTS = ",\n  ".join(f"COALESCE(p.{status}, 0) AS status_{status}" for status in STATUS_COLUMNS)

V_PROGRESS = f"""CREATE VIEW v_progress AS
SELECT
  t.unit_id, u.name AS unit_name, u.level, u.parent_id, u.cluster, u.state,
  t.campaign_id, t.phase_id, t.name AS phase_name, t.starts_on, t.ends_on,
  COALESCE(t.metric, 'submitted') AS metric, t.kind AS target_kind, t.value AS target_value,
  t.members, t.source_unit_id, t.required AS target,
  {_COUNTS},
  {_SUBMITTED} AS submitted,
  {_APPROVED} AS approved,
  {_VALUE} AS value,
  CASE WHEN t.required > 0 THEN CAST({_VALUE} AS DOUBLE PRECISION) / t.required END AS ratio
FROM rm_targets t
JOIN rm_units u ON u.unit_id = t.unit_id
LEFT JOIN rm_progress p
  ON p.unit_id = t.unit_id AND p.campaign_id = t.campaign_id AND p.phase_id = t.phase_id"""
"""One row per unit, campaign and phase ('' = whole campaign): target, counts, value, ratio."""

V_SERIES = """CREATE VIEW v_series AS
SELECT
  s.unit_id, u.name AS unit_name, s.campaign_id, s.day, s.submitted, s.approved,
  SUM(s.submitted) OVER (PARTITION BY s.unit_id, s.campaign_id ORDER BY s.day)
    AS submitted_cumulative,
  SUM(s.approved) OVER (PARTITION BY s.unit_id, s.campaign_id ORDER BY s.day)
    AS approved_cumulative
FROM rm_series_daily s
JOIN rm_units u ON u.unit_id = s.unit_id"""
"""Daily net changes with running totals, ready for a line chart."""

V_BREAKDOWNS = """CREATE VIEW v_breakdowns AS
SELECT b.unit_id, u.name AS unit_name, b.campaign_id, b.dimension, b.value, b.submitted, b.approved
FROM rm_breakdowns b
JOIN rm_units u ON u.unit_id = b.unit_id"""
"""Current totals by category, author type and solution type."""

V_INITIATIVES = """CREATE VIEW v_initiatives AS
SELECT
  i.initiative_id, i.campaign_id, i.unit_id, u.name AS unit_name, i.status, i.title,
  i.category, i.solution_type, i.bucket_date, i.registered_at, i.first_submitted_at,
  i.approved_at, i.rejected_at, i.recognized_at, i.withdrawn_at, i.updated_at
FROM rm_initiatives i
LEFT JOIN rm_units u ON u.unit_id = i.unit_id"""
"""Initiatives with the name of the unit they count for (no personal data is projected)."""

CREATE_VIEWS = [V_PROGRESS, V_SERIES, V_BREAKDOWNS, V_INITIATIVES]
DROP_VIEWS = [
    f"DROP VIEW IF EXISTS {name}"
    for name in ("v_initiatives", "v_breakdowns", "v_series", "v_progress")
]
