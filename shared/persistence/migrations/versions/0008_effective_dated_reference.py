"""Projector: reference data effective-dated (lineage and target history; initiatives keep
the unit they were filed under and the instant that fixes their attribution).

Existing rows are carried over as valid for all time, which is exact for histories without
moves or merges; after a reorganisation, ``initiatives projector rebuild`` restates them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.contracts.base import EARLIEST_INSTANT, LATEST_INSTANT
from shared.persistence.types import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

V_INITIATIVES = """CREATE VIEW v_initiatives AS
SELECT
  i.initiative_id, i.campaign_id, i.unit_id, u.name AS unit_name, i.status, i.title,
  i.category, i.solution_type, i.bucket_date, i.registered_at, i.first_submitted_at,
  i.approved_at, i.rejected_at, i.recognized_at, i.withdrawn_at, i.updated_at
FROM rm_initiatives i
LEFT JOIN rm_units u ON u.unit_id = i.unit_id"""
"""As 0005 created it: SQLite rebuilds ``rm_initiatives`` to add NOT NULL columns, which a
view over the table does not survive."""

TARGET_COLUMNS = (
    "name",
    "starts_on",
    "ends_on",
    "metric",
    "kind",
    "value",
    "required",
    "members",
    "source_unit_id",
)


def upgrade() -> None:
    op.create_table(
        "rm_lineage",
        sa.Column("ancestor_id", sa.String(128), primary_key=True),
        sa.Column("descendant_id", sa.String(128), primary_key=True, index=True),
        sa.Column("valid_from", UtcDateTime, primary_key=True),
        sa.Column("valid_to", UtcDateTime, nullable=False),
        sa.Column("depth", sa.Integer, nullable=False),
    )
    op.create_table(
        "rm_target_history",
        sa.Column("unit_id", sa.String(128), primary_key=True),
        sa.Column("campaign_id", sa.String(128), primary_key=True),
        sa.Column("phase_id", sa.String(128), primary_key=True),
        sa.Column("valid_from", UtcDateTime, primary_key=True),
        sa.Column("valid_to", UtcDateTime, nullable=False),
        sa.Column("listed", sa.Boolean, nullable=False),
        sa.Column("name", sa.String(500), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=False),
        sa.Column("metric", sa.String(16)),
        sa.Column("kind", sa.String(24)),
        sa.Column("value", sa.String(32)),
        sa.Column("required", sa.Integer),
        sa.Column("members", sa.Integer),
        sa.Column("source_unit_id", sa.String(128)),
    )
    op.execute("DROP VIEW IF EXISTS v_initiatives")
    with op.batch_alter_table("rm_initiatives") as batch:
        batch.add_column(sa.Column("filed_unit_id", sa.String(128)))
        batch.add_column(sa.Column("attributed_at", UtcDateTime))
    initiatives = sa.table(
        "rm_initiatives",
        sa.column("unit_id"),
        sa.column("filed_unit_id"),
        sa.column("attributed_at", UtcDateTime),
        sa.column("first_submitted_at", UtcDateTime),
        sa.column("registered_at", UtcDateTime),
        sa.column("updated_at", UtcDateTime),
    )
    op.execute(
        initiatives.update().values(
            filed_unit_id=initiatives.c.unit_id,
            attributed_at=sa.func.coalesce(
                initiatives.c.first_submitted_at,
                initiatives.c.registered_at,
                initiatives.c.updated_at,
            ),
        )
    )
    with op.batch_alter_table("rm_initiatives") as batch:
        batch.alter_column("filed_unit_id", existing_type=sa.String(128), nullable=False)
        batch.alter_column("attributed_at", existing_type=UtcDateTime, nullable=False)
        batch.create_index("ix_rm_initiatives_filed_unit_id", ["filed_unit_id"])
    op.execute(V_INITIATIVES)
    forever = {"valid_from": EARLIEST_INSTANT, "valid_to": LATEST_INSTANT}
    bounds = [sa.literal(value, UtcDateTime) for value in forever.values()]
    op.execute(
        sa.table(
            "rm_lineage",
            *(sa.column(c) for c in ("ancestor_id", "descendant_id", "depth")),
            *(sa.column(c, UtcDateTime) for c in forever),
        )
        .insert()
        .from_select(
            ["ancestor_id", "descendant_id", "depth", "valid_from", "valid_to"],
            sa.select(
                sa.column("ancestor_id"), sa.column("descendant_id"), sa.column("depth"), *bounds
            ).select_from(sa.table("rm_closure")),
        )
    )
    keys = ("unit_id", "campaign_id", "phase_id")
    op.execute(
        sa.table(
            "rm_target_history",
            *(sa.column(c) for c in (*keys, *TARGET_COLUMNS, "listed")),
            *(sa.column(c, UtcDateTime) for c in forever),
        )
        .insert()
        .from_select(
            [*keys, *TARGET_COLUMNS, "valid_from", "valid_to", "listed"],
            sa.select(
                *(sa.column(c) for c in (*keys, *TARGET_COLUMNS)), *bounds, sa.true()
            ).select_from(sa.table("rm_targets")),
        )
    )


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_initiatives")
    with op.batch_alter_table("rm_initiatives") as batch:
        batch.drop_index("ix_rm_initiatives_filed_unit_id")
        batch.drop_column("attributed_at")
        batch.drop_column("filed_unit_id")
    op.execute(V_INITIATIVES)
    op.drop_table("rm_target_history")
    op.drop_table("rm_lineage")
