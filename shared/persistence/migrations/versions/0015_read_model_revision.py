"""Projector: ``rm_revision``, one row that every change of the read models redraws.

The query API keeps an answer of a unit's figures while this row holds the number it read
before computing it: one small read instead of the answer's queries and Python, as long as no
batch was applied (docs/query-api.md, "Shared and kept answers").

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rm_revision",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("revision", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rm_revision")
