"""Projector: ``rm_rollup_daily`` leaves out each unit's own initiatives.

Nearly every initiative is filed at a grassroots union, so most of a batch's rollup rows were
those unions' own, and nothing but a child's whole-campaign count without a plan reads them.
That query now counts a unit's own initiatives from ``rm_initiatives`` and the rollup keeps
only the units below (docs/benchmarks.md, "Aggregate rows a batch writes (issue 19),
thirteenth step"). The upgrade takes each unit's own initiatives out of its rows, by the day
they were counted on, and deletes the rows that leave at zero; the downgrade adds them back.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
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
"""The rollup's status columns, as 0003 created them."""
KEY = ("unit_id", "campaign_id", "bucket_date")

OWN = (
    "SELECT unit_id, campaign_id, bucket_date, "
    + ", ".join(f"SUM(CASE WHEN status = '{s}' THEN 1 ELSE 0 END) AS {s}" for s in STATUSES)
    + " FROM rm_initiatives GROUP BY unit_id, campaign_id, bucket_date"
)
"""Each unit's own initiatives per campaign and day, counted by status."""


def upgrade() -> None:
    taken = ", ".join(f"{s} = rm_rollup_daily.{s} - own.{s}" for s in STATUSES)
    matched = " AND ".join(f"rm_rollup_daily.{k} = own.{k}" for k in KEY)
    op.execute(f"UPDATE rm_rollup_daily SET {taken} FROM ({OWN}) AS own WHERE {matched}")
    op.execute("DELETE FROM rm_rollup_daily WHERE " + " AND ".join(f"{s} = 0" for s in STATUSES))


def downgrade() -> None:
    columns = ", ".join((*KEY, *STATUSES))
    added = ", ".join(f"{s} = rm_rollup_daily.{s} + excluded.{s}" for s in STATUSES)
    # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT.
    op.execute(
        f"INSERT INTO rm_rollup_daily ({columns}) SELECT {columns} FROM ({OWN}) AS own "
        f"WHERE true ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {added}"
    )
