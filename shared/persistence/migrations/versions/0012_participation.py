"""Projector: each initiative's distinct authors as pseudonymous keys, for participation;
how many initiatives name each author per unit and phase, and the distinct authors there.

Existing rows get no keys (their authors are in the event store only); run ``initiatives
projector rebuild`` after this migration to fill them, and to recode the categories of
initiatives submitted before ``initiative.submitted`` v2.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.persistence.types import Json

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "rm_initiatives", sa.Column("author_keys", Json, nullable=False, server_default="[]")
    )
    op.create_table(
        "rm_initiative_authors",
        sa.Column("initiative_id", sa.String(128), primary_key=True),
        sa.Column("author_key", sa.String(64), primary_key=True),
    )
    op.create_table(
        "rm_author_refs",
        sa.Column("unit_id", sa.String(128), primary_key=True),
        sa.Column("campaign_id", sa.String(128), primary_key=True),
        sa.Column("phase_id", sa.String(128), primary_key=True),
        sa.Column("author_key", sa.String(64), primary_key=True),
        sa.Column("initiatives", sa.Integer, nullable=False, server_default="0"),
    )
    op.add_column(
        "rm_progress", sa.Column("authors", sa.Integer, nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("rm_progress", "authors")
    op.drop_table("rm_author_refs")
    op.drop_table("rm_initiative_authors")
    op.drop_column("rm_initiatives", "author_keys")
