"""Projector: distinct authors are counted from the initiatives' rows; ``rm_author_refs`` goes.

It held a row per (unit or ancestor, phase, author): 20.4 million at national scale, more
than every other table together, and most of a national rebuild's time. ``rm_progress.authors``
keeps its values: from now on a batch finds the other initiatives of the authors it touches
through the new index on ``rm_initiative_authors.author_key``, and a rebuild counts every
unit's authors at once (docs/benchmarks.md, "Distinct authors without references").

Downgrading recreates ``rm_author_refs`` empty: run ``initiatives projector rebuild`` on the
older version afterwards, or its distinct authors drift.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEX = "ix_rm_initiative_authors_author_key"


def upgrade() -> None:
    op.drop_table("rm_author_refs")
    op.create_index(INDEX, "rm_initiative_authors", ["author_key"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="rm_initiative_authors")
    op.create_table(
        "rm_author_refs",
        sa.Column("unit_id", sa.String(128), primary_key=True),
        sa.Column("campaign_id", sa.String(128), primary_key=True),
        sa.Column("phase_id", sa.String(128), primary_key=True),
        sa.Column("author_key", sa.String(64), primary_key=True),
        sa.Column("initiatives", sa.Integer, nullable=False, server_default="0"),
    )
