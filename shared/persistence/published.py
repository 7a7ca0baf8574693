"""What one service publishes for the others to read: views, never the owner's tables.

The projector owns the units and their closure; the notifier (subscriptions within a
subtree, digests of a unit's children), the scoped tokens of every API and the dashboard
need them. The notifier owns its decisions; the dashboard lists a unit's recent ones. Each
is read through a view with the columns below, so an owner may reshape its tables (a
rebuild swaps them, a migration splits one) and keep the view's columns and meaning.

The views are created by migration 0011 (SQL in :data:`CREATE_PUBLISHED_VIEWS`, also used by
the rebuild, which drops and re-creates the views over the tables it swaps); a contract test
checks each view's columns against these declarations on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa

from shared.persistence.types import Json, Position, UtcDateTime

metadata = sa.MetaData()
"""Never created as tables: these describe views for queries (and stay out of migrations'
comparison with the owners' tables)."""

published_units = sa.Table(
    "published_units",
    metadata,
    sa.Column("unit_id", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("level", sa.String(16), nullable=False),
    sa.Column("parent_id", sa.String(128)),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("merged_into", sa.String(128)),
)
"""Every unit as it stands now (owner: the projector)."""

published_unit_closure = sa.Table(
    "published_unit_closure",
    metadata,
    sa.Column("ancestor_id", sa.String(128), primary_key=True),
    sa.Column("descendant_id", sa.String(128), primary_key=True),
    sa.Column("depth", sa.Integer, nullable=False),
)
"""The tree now: one row per (ancestor, descendant), the unit itself at depth 0 (owner: the
projector)."""

published_decisions = sa.Table(
    "published_decisions",
    metadata,
    sa.Column("id", Position, primary_key=True),
    sa.Column("key", sa.String(600), nullable=False),
    sa.Column("unit_id", sa.String(128), nullable=False),
    sa.Column("campaign_id", sa.String(128), nullable=False),
    sa.Column("phase_id", sa.String(128), nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("threshold", sa.Float),
    sa.Column("value", sa.Integer, nullable=False),
    sa.Column("target", sa.Integer),
    sa.Column("details", Json, nullable=False),
    sa.Column("decided_at", UtcDateTime, nullable=False),
)
"""Every decision the notifier took, in the order taken, each under its one key (owner: the
notifier)."""


def _select(view: sa.Table, source: str) -> str:
    columns = ", ".join(column.name for column in view.columns)
    return f"CREATE VIEW {view.name} AS SELECT {columns} FROM {source}"


CREATE_UNIT_VIEWS = [
    _select(published_units, "rm_units"),
    _select(published_unit_closure, "rm_closure"),
]
"""The projector's published views; the rebuild re-creates them after its swap."""

CREATE_PUBLISHED_VIEWS = [*CREATE_UNIT_VIEWS, _select(published_decisions, "nt_decisions")]

DROP_UNIT_VIEWS = [
    f"DROP VIEW IF EXISTS {view.name}" for view in (published_unit_closure, published_units)
]
