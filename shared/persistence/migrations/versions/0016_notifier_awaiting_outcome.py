"""Notifier: a partial index on the rows whose outcome is still to be judged.

The clock reads those rows each time its input catches up while outcomes wait for current
figures (after nearly every batch under load); without the index that read scanned every
row of ``nt_progress`` (docs/benchmarks.md, "The notifier's clock under load (issue 19),
tenth step").

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

AWAITING = sa.text("outcome IS NULL AND target IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_nt_progress_awaiting_outcome",
        "nt_progress",
        ["ends_on"],
        postgresql_where=AWAITING,
        sqlite_where=AWAITING,
    )


def downgrade() -> None:
    op.drop_index("ix_nt_progress_awaiting_outcome", table_name="nt_progress")
