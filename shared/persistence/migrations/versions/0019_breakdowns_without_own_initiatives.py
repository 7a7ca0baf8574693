# ruff: noqa: E501 - frozen SQL text, kept exactly as rendered
"""Projector: ``rm_breakdowns`` leaves out each unit's own initiatives; ``v_breakdowns`` adds them.

As 0018 did for the daily rollup: nine in ten of a batch's breakdown rows were grassroots
unions' own. The API's breakdowns and the view ``v_breakdowns`` now add a unit's own
initiatives from ``rm_initiatives`` (``services.projector.bi_views.own_breakdowns``) to the
rows of the units below; the view keeps its columns and meaning. The upgrade takes each
unit's own initiatives out of its rows and deletes the rows that leave at zero; the downgrade
adds them back and restores 0005's view.

The SQL is frozen as rendered on the day, by dialect (each reads a JSON array with its own
function); a test keeps it equal to what ``services.projector.bi_views`` renders.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

OWN = """SELECT i.unit_id, i.campaign_id, 'category' AS dimension, i.category AS value,
  CASE WHEN i.status IN ('under_review', 'revision_requested', 'approved', 'rejected', 'recognized') THEN 1 ELSE 0 END AS submitted,
  CASE WHEN i.status IN ('approved', 'recognized') THEN 1 ELSE 0 END AS approved
FROM rm_initiatives i
WHERE i.status IN ('under_review', 'revision_requested', 'approved', 'rejected', 'recognized') AND i.category <> ''
UNION ALL
SELECT i.unit_id, i.campaign_id, 'solution_type' AS dimension, i.solution_type AS value,
  CASE WHEN i.status IN ('under_review', 'revision_requested', 'approved', 'rejected', 'recognized') THEN 1 ELSE 0 END AS submitted,
  CASE WHEN i.status IN ('approved', 'recognized') THEN 1 ELSE 0 END AS approved
FROM rm_initiatives i
WHERE i.status IN ('under_review', 'revision_requested', 'approved', 'rejected', 'recognized') AND i.solution_type <> ''
UNION ALL
SELECT i.unit_id, i.campaign_id, 'author_type' AS dimension, k.value AS value,
  CASE WHEN i.status IN ('under_review', 'revision_requested', 'approved', 'rejected', 'recognized') THEN 1 ELSE 0 END AS submitted,
  CASE WHEN i.status IN ('approved', 'recognized') THEN 1 ELSE 0 END AS approved
FROM rm_initiatives i JOIN {kinds} ON true
WHERE i.status IN ('under_review', 'revision_requested', 'approved', 'rejected', 'recognized') AND k.value <> ''"""
"""Each unit's own initiatives by (unit, campaign, dimension, value), one row each; each
dialect reads the JSON array of author types with its own function."""
KINDS = {
    "sqlite": "json_each(i.author_types) AS k",
    "postgresql": "jsonb_array_elements_text(i.author_types) AS k(value)",
}
OWN_BREAKDOWNS = {dialect: OWN.replace("{kinds}", kinds) for dialect, kinds in KINDS.items()}

V_BREAKDOWNS = {
    dialect: """CREATE VIEW v_breakdowns AS
SELECT b.unit_id, u.name AS unit_name, b.campaign_id, b.dimension, b.value,
  SUM(b.submitted) AS submitted, SUM(b.approved) AS approved
FROM (
SELECT unit_id, campaign_id, dimension, value, submitted, approved FROM rm_breakdowns
UNION ALL
{own}
) b
JOIN rm_units u ON u.unit_id = b.unit_id
GROUP BY b.unit_id, u.name, b.campaign_id, b.dimension, b.value""".replace("{own}", own)
    for dialect, own in OWN_BREAKDOWNS.items()
}

V_BREAKDOWNS_0005 = """CREATE VIEW v_breakdowns AS
SELECT b.unit_id, u.name AS unit_name, b.campaign_id, b.dimension, b.value, b.submitted, b.approved
FROM rm_breakdowns b
JOIN rm_units u ON u.unit_id = b.unit_id"""

KEY = ("unit_id", "campaign_id", "dimension", "value")


def _own(dialect: str) -> str:
    """The own counts summed per key."""
    return (
        f"SELECT {', '.join(KEY)}, SUM(submitted) AS submitted, SUM(approved) AS approved "
        f"FROM ({OWN_BREAKDOWNS[dialect]}) AS each_one GROUP BY {', '.join(KEY)}"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    matched = " AND ".join(f"rm_breakdowns.{k} = own.{k}" for k in KEY)
    op.execute("DROP VIEW IF EXISTS v_breakdowns")
    op.execute(
        "UPDATE rm_breakdowns SET submitted = rm_breakdowns.submitted - own.submitted, "
        f"approved = rm_breakdowns.approved - own.approved FROM ({_own(dialect)}) AS own "
        f"WHERE {matched}"
    )
    op.execute("DELETE FROM rm_breakdowns WHERE submitted = 0 AND approved = 0")
    op.execute(V_BREAKDOWNS[dialect])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    columns = ", ".join((*KEY, "submitted", "approved"))
    op.execute("DROP VIEW IF EXISTS v_breakdowns")
    # "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the INSERT.
    op.execute(
        f"INSERT INTO rm_breakdowns ({columns}) SELECT {columns} FROM ({_own(dialect)}) AS own "
        f"WHERE true ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET "
        "submitted = rm_breakdowns.submitted + excluded.submitted, "
        "approved = rm_breakdowns.approved + excluded.approved"
    )
    op.execute(V_BREAKDOWNS_0005)
