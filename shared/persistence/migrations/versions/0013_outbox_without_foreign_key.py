"""Event store: the outbox's rows no longer reference ``events`` by a foreign key.

Every outbox row is written by the statement that writes its event (one ``INSERT … RETURNING``
feeds both), so the key could never catch a mistake; its check, which takes a share lock on
each new event row and dirties its page again, was about 40 % of an append's server time at
batch 1,000 (docs/benchmarks.md, "Append without the outbox's foreign key").

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.persistence.types import Position, UtcDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _outbox(*foreign_key: sa.ForeignKey) -> sa.Table:
    return sa.Table(
        "outbox",
        sa.MetaData(),
        sa.Column("position", Position, *foreign_key, primary_key=True, autoincrement=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("outbox_position_fkey", "outbox", type_="foreignkey")
        return
    with op.batch_alter_table("outbox", recreate="always", copy_from=_outbox()):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(
            "outbox_position_fkey",
            "outbox",
            "events",
            ["position"],
            ["position"],
            ondelete="CASCADE",
        )
        return
    with op.batch_alter_table(
        "outbox",
        recreate="always",
        copy_from=_outbox(sa.ForeignKey("events.position", ondelete="CASCADE")),
    ):
        pass
