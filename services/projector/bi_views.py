"""SQL views over the read models for BI tools (Metabase, Superset, Excel over ODBC).

Plain SQL text for a migration to create with ``op.execute``, generated from the domain's own
rules so a view never disagrees with the API: the metric sums from what counts as submitted or
approved, and ``v_status`` from :func:`shared.domain.progress.status` and
:data:`~shared.domain.progress.PACE`. Two views differ by dialect: ``v_status`` (time zones)
and ``v_breakdowns`` (JSON arrays); the API's breakdowns read the same SQL.

``v_status`` reads ``v_progress``: a migration that has to drop ``v_progress`` (SQLite
rebuilds a table under a view, as 0008 did for ``v_initiatives``) drops ``v_status`` first
and creates both again afterwards; :data:`DROP_VIEWS` and :func:`create_views` keep that order.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

from services.projector.schema import STATUS_COLUMNS
from shared.contracts.campaigns import Metric
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.initiative import InitiativeStatus, counts_as_approved, counts_as_submitted
from shared.domain.progress import PACE, PaceRule, Status, metric_statuses


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

V_INITIATIVES = """CREATE VIEW v_initiatives AS
SELECT
  i.initiative_id, i.campaign_id, i.unit_id, u.name AS unit_name, i.status, i.title,
  i.category, i.solution_type, i.bucket_date, i.registered_at, i.first_submitted_at,
  i.approved_at, i.rejected_at, i.recognized_at, i.withdrawn_at, i.updated_at
FROM rm_initiatives i
LEFT JOIN rm_units u ON u.unit_id = i.unit_id"""
"""Initiatives with the name of the unit they count for (no personal data is projected)."""

CREATE_VIEWS = [V_PROGRESS, V_INITIATIVES]
"""The views of migration 0005 that no later migration replaced, as it froze them."""


# -- series ---------------------------------------------------------------------------------


def own_series() -> str:
    """Each initiative's net changes by (unit, campaign, day), as the fold's series counts
    them: what ``rm_series_daily`` leaves out of a unit's rows, its own initiatives. A
    submission counts on the day of the attribution, which once submitted is the first
    submission's."""
    submitted = "i.first_submitted_at IS NOT NULL"
    return "\nUNION ALL\n".join(
        f"""SELECT i.unit_id, i.campaign_id, {day} AS day, {metrics}
FROM rm_initiatives i
WHERE {kept}"""
        for day, metrics, kept in (
            ("i.bucket_date", "1 AS submitted, 0 AS approved", submitted),
            (
                "i.withdrawn_on",
                "-1 AS submitted, 0 AS approved",
                f"{submitted} AND i.withdrawn_on IS NOT NULL",
            ),
            ("i.approved_on", "0 AS submitted, 1 AS approved", "i.approved_on IS NOT NULL"),
        )
    )


V_SERIES = f"""CREATE VIEW v_series AS
SELECT
  s.unit_id, u.name AS unit_name, s.campaign_id, s.day, s.submitted, s.approved,
  SUM(s.submitted) OVER (PARTITION BY s.unit_id, s.campaign_id ORDER BY s.day)
    AS submitted_cumulative,
  SUM(s.approved) OVER (PARTITION BY s.unit_id, s.campaign_id ORDER BY s.day)
    AS approved_cumulative
FROM (
SELECT b.unit_id, b.campaign_id, b.day, SUM(b.submitted) AS submitted,
  SUM(b.approved) AS approved
FROM (
SELECT unit_id, campaign_id, day, submitted, approved FROM rm_series_daily
UNION ALL
{own_series()}
) b
GROUP BY b.unit_id, b.campaign_id, b.day
HAVING SUM(b.submitted) <> 0 OR SUM(b.approved) <> 0
) s
JOIN rm_units u ON u.unit_id = s.unit_id"""
"""Daily net changes with running totals, ready for a line chart: the units below from
``rm_series_daily``, the unit's own initiatives from their rows; days netting to nothing
are left out, as the stored series leaves them out."""


# -- status ----------------------------------------------------------------------------------


class Dialect(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


NOW = {Dialect.SQLITE: "'now'", Dialect.POSTGRESQL: "now()"}
"""The instant a view judges at: the database's current time."""


def fixed_offset(zone: ZoneInfo) -> dt.timedelta:
    """The zone's one UTC offset, for SQLite, which has no time zone data and can only shift
    a date by a constant. A zone with summer time would make that shift wrong for part of
    every year, so it is refused rather than judged an hour off."""
    offsets = {
        zone.utcoffset(dt.datetime(year, month, 1))
        for year in range(2000, 2100)
        for month in (1, 7)
    }
    (offset, *others) = offsets
    if others or offset is None:
        raise ValueError(f"{zone.key} changes its UTC offset: SQLite's status SQL needs one")
    return offset


def _real(number: float) -> str:
    """A float as the same IEEE double in SQL (repr round-trips), so SQL multiplies as Python."""
    return f"CAST({number!r} AS DOUBLE PRECISION)"


def judged(
    source: str,
    at: str,
    dialect: Dialect,
    zone: ZoneInfo = CAMPAIGN_ZONE,
    rule: PaceRule = PACE,
) -> str:
    """A SELECT of every column of ``source`` (a relation with ``value``, ``target``,
    ``starts_on`` and ``ends_on``) plus, judged at the instant ``at``: ``judged_at``,
    ``starts_at``, ``deadline``, ``elapsed`` and ``status``, as
    :func:`shared.domain.progress.standing` gives them.

    ``at`` is SQL: a timestamptz on PostgreSQL; on SQLite a time value ``strftime`` reads
    (UTC text or ``'now'``), judged to the millisecond, SQLite's resolution. The elapsed share
    divides whole micro- (milli-) seconds as doubles, as Python divides timedeltas, and the
    pace compares in doubles in the domain's order, so the two agree to the last bit.
    """
    if dialect is Dialect.POSTGRESQL:
        judged_at = at
        midnight = f"CAST({{}} AS timestamp) AT TIME ZONE '{zone.key}'"
        starts_at, deadline = midnight.format("r.starts_on"), midnight.format("r.ends_on + 1")

        def instant(column: str) -> str:
            return column

        def span(since: str, until: str) -> str:
            micros = f"ROUND(EXTRACT(EPOCH FROM {until} - {since}) * 1000000)"
            return f"CAST({micros} AS DOUBLE PRECISION)"

        least, greatest = "LEAST", "GREATEST"
    else:
        judged_at = f"strftime('%Y-%m-%d %H:%M:%f', {at})"
        shift = f"'{-fixed_offset(zone).total_seconds():+.0f} seconds'"
        starts_at = f"datetime(r.starts_on, {shift})"
        deadline = f"datetime(r.ends_on, '+1 day', {shift})"

        def instant(column: str) -> str:
            return f"julianday({column})"

        def span(since: str, until: str) -> str:
            return f"ROUND((julianday({until}) - julianday({since})) * 86400000)"

        least, greatest = "MIN", "MAX"
    elapsed = f"{span('w.starts_at', 'w.judged_at')} / {span('w.starts_at', 'w.deadline')}"
    at_risk = (
        f"j.elapsed >= {_real(rule.from_elapsed)}"
        f" AND j.value < j.target * j.elapsed * {_real(rule.tolerance)}"
    )
    return f"""SELECT j.*,
  CASE
    WHEN j.target IS NULL THEN '{Status.NO_TARGET}'
    WHEN j.value >= j.target THEN '{Status.ACHIEVED}'
    WHEN {instant("j.judged_at")} >= {instant("j.deadline")} THEN '{Status.MISSED}'
    WHEN {instant("j.judged_at")} < {instant("j.starts_at")} THEN '{Status.NOT_STARTED}'
    WHEN {at_risk} THEN '{Status.AT_RISK}'
    ELSE '{Status.ON_TRACK}'
  END AS status
FROM (
  SELECT w.*, {least}(1.0, {greatest}(0.0, {elapsed})) AS elapsed
  FROM (
    SELECT r.*, {judged_at} AS judged_at, {starts_at} AS starts_at, {deadline} AS deadline
    FROM {source} r
  ) w
) j"""


# -- breakdowns ------------------------------------------------------------------------------


def _statuses(statuses: list[str]) -> str:
    return ", ".join(f"'{status}'" for status in statuses)


def own_breakdowns(dialect: Dialect) -> str:
    """Each initiative's counts by (unit, campaign, dimension, value), as the fold's
    breakdowns count them: what ``rm_breakdowns`` leaves out of a unit's rows, its own
    initiatives. Only the function that reads the JSON array of author types differs."""
    submitted = [status.value for status in InitiativeStatus if counts_as_submitted(status)]
    approved = [status.value for status in InitiativeStatus if counts_as_approved(status)]
    counted = f"i.status IN ({_statuses(submitted + [s for s in approved if s not in submitted])})"
    kinds = {
        Dialect.POSTGRESQL: "jsonb_array_elements_text(i.author_types) AS k(value)",
        Dialect.SQLITE: "json_each(i.author_types) AS k",
    }[dialect]
    metrics = (
        f"CASE WHEN i.status IN ({_statuses(submitted)}) THEN 1 ELSE 0 END AS submitted,\n"
        f"  CASE WHEN i.status IN ({_statuses(approved)}) THEN 1 ELSE 0 END AS approved"
    )
    return "\nUNION ALL\n".join(
        f"""SELECT i.unit_id, i.campaign_id, '{dimension}' AS dimension, {value} AS value,
  {metrics}
FROM {source}
WHERE {counted} AND {value} <> ''"""
        for dimension, value, source in (
            ("category", "i.category", "rm_initiatives i"),
            ("solution_type", "i.solution_type", "rm_initiatives i"),
            ("author_type", "k.value", f"rm_initiatives i JOIN {kinds} ON true"),
        )
    )


V_BREAKDOWNS = {
    dialect: f"""CREATE VIEW v_breakdowns AS
SELECT b.unit_id, u.name AS unit_name, b.campaign_id, b.dimension, b.value,
  SUM(b.submitted) AS submitted, SUM(b.approved) AS approved
FROM (
SELECT unit_id, campaign_id, dimension, value, submitted, approved FROM rm_breakdowns
UNION ALL
{own_breakdowns(dialect)}
) b
JOIN rm_units u ON u.unit_id = b.unit_id
GROUP BY b.unit_id, u.name, b.campaign_id, b.dimension, b.value"""
    for dialect in Dialect
}
"""Current totals by category, author type and solution type: the units below from
``rm_breakdowns``, the unit's own initiatives from their rows."""

V_STATUS = {
    dialect: f"CREATE VIEW v_status AS\n{judged('v_progress', NOW[dialect], dialect)}"
    for dialect in Dialect
}
"""``v_progress`` with each row's status now, by dialect: the BI tools' and Grafana's one
source for on track, at risk and missed."""


def create_views(dialect: Dialect) -> list[str]:
    """Every view, in an order that creates what a view reads before the view."""
    return [*CREATE_VIEWS, V_SERIES, V_BREAKDOWNS[dialect], V_STATUS[dialect]]


DROP_VIEWS = [
    f"DROP VIEW IF EXISTS {name}"
    for name in ("v_status", "v_initiatives", "v_breakdowns", "v_series", "v_progress")
]
"""Every view, in an order that drops a view before what it reads."""
