"""Notifier: the copy of figures keeps the change it came from and the final outcome decided.

``sequence`` is the projector's outbox position of the change the row holds, so an older
change arriving late (a redelivery, a second relay) never moves the copy backwards;
``outcome`` is set once the row's deadline has been judged (achieved or missed).
On SQLite, ``progress_outbox`` is rebuilt with AUTOINCREMENT: its ids are the changes'
``sequence``, and without it SQLite reuses ids once the outbox has been emptied.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.persistence.types import Position

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "progress_outbox", recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass
    with op.batch_alter_table("nt_progress") as table:
        table.add_column(sa.Column("sequence", Position))
        table.add_column(sa.Column("outcome", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("nt_progress") as table:
        table.drop_column("outcome")
        table.drop_column("sequence")
