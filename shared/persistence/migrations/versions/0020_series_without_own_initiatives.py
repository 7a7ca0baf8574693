# ruff: noqa: E501 - frozen SQL text, kept exactly as rendered
"""Projector: ``rm_series_daily`` leaves out each unit's own initiatives; ``v_series`` adds them.

As 0018 and 0019 did for the rollup and the breakdowns: seven in ten of a batch's series rows
were grassroots unions' own. A unit's own daily series is now counted on read from
``rm_initiatives``, which keeps the local days of an approval and of a withdrawal
(``approved_on``, ``withdrawn_on``; a submission counts on ``bucket_date``). The upgrade fills
those days for existing rows in each campaign's time zone, takes each unit's own initiatives
out of its series rows and deletes the rows left at zero; the downgrade adds them back, drops
the two columns and restores 0005's view.

A series row can hold a negative count (a withdrawal), so a unit whose own submission and a
withdrawal below it fell on the same day had no row; taking its own out gives it one. Both
directions therefore add with an upsert rather than update existing rows.

The zones come from the ``campaign.defined`` facts of the event store's reference stream
(no read model keeps campaigns). PostgreSQL converts with ``AT TIME ZONE``; SQLite has no time
zone data, so there the days are computed in Python. The SQL is frozen as rendered on the
day; a test keeps it equal to what ``services.projector.bi_views`` renders.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from shared.persistence.types import Json, UtcDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"
"""The zone of a campaign whose definition names none."""

OWN_SERIES = """SELECT i.unit_id, i.campaign_id, i.bucket_date AS day, 1 AS submitted, 0 AS approved
FROM rm_initiatives i
WHERE i.first_submitted_at IS NOT NULL
UNION ALL
SELECT i.unit_id, i.campaign_id, i.withdrawn_on AS day, -1 AS submitted, 0 AS approved
FROM rm_initiatives i
WHERE i.first_submitted_at IS NOT NULL AND i.withdrawn_on IS NOT NULL
UNION ALL
SELECT i.unit_id, i.campaign_id, i.approved_on AS day, 0 AS submitted, 1 AS approved
FROM rm_initiatives i
WHERE i.approved_on IS NOT NULL"""
"""Each unit's own initiatives' net changes by (unit, campaign, day), one row each."""

CUMULATIVE = """CREATE VIEW v_series AS
SELECT
  s.unit_id, u.name AS unit_name, s.campaign_id, s.day, s.submitted, s.approved,
  SUM(s.submitted) OVER (PARTITION BY s.unit_id, s.campaign_id ORDER BY s.day)
    AS submitted_cumulative,
  SUM(s.approved) OVER (PARTITION BY s.unit_id, s.campaign_id ORDER BY s.day)
    AS approved_cumulative
FROM """
"""The chart's columns, which both versions of the view share."""

V_SERIES = (
    CUMULATIVE
    + """(
SELECT b.unit_id, b.campaign_id, b.day, SUM(b.submitted) AS submitted,
  SUM(b.approved) AS approved
FROM (
SELECT unit_id, campaign_id, day, submitted, approved FROM rm_series_daily
UNION ALL
{own}
) b
GROUP BY b.unit_id, b.campaign_id, b.day
HAVING SUM(b.submitted) <> 0 OR SUM(b.approved) <> 0
) s
JOIN rm_units u ON u.unit_id = s.unit_id""".replace("{own}", OWN_SERIES)
)

V_SERIES_0005 = (
    CUMULATIVE
    + """rm_series_daily s
JOIN rm_units u ON u.unit_id = s.unit_id"""
)

KEY = ("unit_id", "campaign_id", "day")
DAYS = {"approved_at": "approved_on", "withdrawn_at": "withdrawn_on"}
"""The instants whose local days the rows now keep, and the columns those go to."""

_events = sa.table(
    "events",
    sa.column("stream_id"),
    sa.column("type"),
    sa.column("position"),
    sa.column("data", Json),
)
_initiatives = sa.table(
    "rm_initiatives",
    sa.column("initiative_id"),
    sa.column("campaign_id"),
    *(sa.column(instant, UtcDateTime) for instant in DAYS),
    *(sa.column(day, sa.Date) for day in DAYS.values()),
)


def _zones(connection: sa.Connection) -> dict[str, list[str]]:
    """The campaigns of ``rm_initiatives`` by the zone their dates are read in (a campaign
    is defined once: the first definition holds)."""
    defined: dict[str, str] = {}
    query = (
        sa.select(_events.c.data)
        .where(_events.c.stream_id == "reference", _events.c.type == "campaign.defined")
        .order_by(_events.c.position)
    )
    for (data,) in connection.execute(query):
        defined.setdefault(data["campaign_id"], data.get("time_zone", DEFAULT_ZONE))
    zones: defaultdict[str, list[str]] = defaultdict(list)
    for (campaign_id,) in connection.execute(sa.select(_initiatives.c.campaign_id).distinct()):
        zones[defined.get(campaign_id, DEFAULT_ZONE)].append(campaign_id)
    return zones


def _fill_days(connection: sa.Connection) -> None:
    zones = _zones(connection)
    if connection.dialect.name == "postgresql":
        for zone, campaign_ids in zones.items():
            days = ", ".join(
                f"{day} = CAST({instant} AT TIME ZONE :zone AS date)"
                for instant, day in DAYS.items()
            )
            connection.execute(
                sa.text(
                    f"UPDATE rm_initiatives SET {days} WHERE campaign_id = ANY(:campaign_ids) "
                    "AND (approved_at IS NOT NULL OR withdrawn_at IS NOT NULL)"
                ),
                {"zone": zone, "campaign_ids": campaign_ids},
            )
        return
    by_campaign = {c: ZoneInfo(zone) for zone, ids in zones.items() for c in ids}
    stamped = sa.or_(*(_initiatives.c[instant].is_not(None) for instant in DAYS))
    updates = [
        {
            "id": initiative_id,
            **{
                f"new_{day}": None if at is None else at.astimezone(by_campaign[campaign_id]).date()
                for day, at in zip(DAYS.values(), instants, strict=True)
            },
        }
        for initiative_id, campaign_id, *instants in connection.execute(
            sa.select(
                _initiatives.c.initiative_id,
                _initiatives.c.campaign_id,
                *(_initiatives.c[instant] for instant in DAYS),
            ).where(stamped)
        )
    ]
    if updates:
        connection.execute(
            _initiatives.update()
            .where(_initiatives.c.initiative_id == sa.bindparam("id"))
            .values({day: sa.bindparam(f"new_{day}", type_=sa.Date) for day in DAYS.values()}),
            updates,
        )


def _add_own(sign: str) -> None:
    """Add each unit's own net changes, times ``sign``, to its series rows, creating the
    rows that do not exist, then delete the rows left at zero."""
    columns = ", ".join((*KEY, "submitted", "approved"))
    own = (
        f"SELECT {', '.join(KEY)}, {sign}SUM(submitted) AS submitted, {sign}SUM(approved) AS approved "
        f"FROM ({OWN_SERIES}) AS each_one GROUP BY {', '.join(KEY)}"
    )
    # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT.
    op.execute(
        f"INSERT INTO rm_series_daily ({columns}) SELECT {columns} FROM ({own}) AS own "
        f"WHERE true ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET "
        "submitted = rm_series_daily.submitted + excluded.submitted, "
        "approved = rm_series_daily.approved + excluded.approved"
    )
    op.execute("DELETE FROM rm_series_daily WHERE submitted = 0 AND approved = 0")


def upgrade() -> None:
    for day in DAYS.values():
        op.add_column("rm_initiatives", sa.Column(day, sa.Date))
    _fill_days(op.get_bind())
    op.execute("DROP VIEW IF EXISTS v_series")
    _add_own("-")
    op.execute(V_SERIES)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_series")
    _add_own("")
    for day in DAYS.values():
        op.execute(f"ALTER TABLE rm_initiatives DROP COLUMN {day}")
    op.execute(V_SERIES_0005)
