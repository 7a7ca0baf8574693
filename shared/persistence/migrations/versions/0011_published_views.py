# ruff: noqa: E501 - frozen SQL text, kept exactly as rendered
"""Published views: what one service reads of another's data (issue 18).

``published_units`` and ``published_unit_closure`` (owner: the projector) serve the
notifier's subscriptions and digests and every API's scoped tokens; ``published_decisions``
(owner: the notifier) serves the dashboard. The SQL is rendered by
``shared.persistence.published`` and frozen here, as the BI views are; a test keeps the two
equal.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CREATE_PUBLISHED_VIEWS = [
    "CREATE VIEW published_units AS SELECT unit_id, name, level, parent_id, state, merged_into FROM rm_units",
    "CREATE VIEW published_unit_closure AS SELECT ancestor_id, descendant_id, depth FROM rm_closure",
    "CREATE VIEW published_decisions AS SELECT id, key, unit_id, campaign_id, phase_id, rule, threshold, value, target, details, decided_at FROM nt_decisions",
]

VIEWS = ("published_decisions", "published_unit_closure", "published_units")


def upgrade() -> None:
    for statement in CREATE_PUBLISHED_VIEWS:
        op.execute(statement)


def downgrade() -> None:
    for view in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
