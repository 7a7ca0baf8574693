"""Projector: ``rm_stream_versions`` leaves half of each page free.

Every batch updates the applied version of each stream it touches. The rows are narrow and
filled their pages, so 98.5 % of those updates went to another page and added an index entry
(docs/benchmarks.md, "The notifier's clock under load (issue 19), tenth step"). With room on
the page, an update stays on it (HOT). Pages written before this migration keep their fill
until the table is rewritten (a rebuild writes it anew).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rm_stream_versions SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rm_stream_versions RESET (fillfactor)")
