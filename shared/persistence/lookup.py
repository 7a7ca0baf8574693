"""``column IN (values)`` for any number of values, in as few statements as the dialect allows.

PostgreSQL takes the values as one array (``= ANY(…)``), so one statement serves a batch of
any size; SQLite limits the parameters of a statement, so values go in chunks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from shared.chunks import chunks


def in_array(column: sa.ColumnElement[Any], name: str) -> sa.ColumnElement[bool]:
    """``column = ANY(:name)``: PostgreSQL's ``IN`` for a statement built once, the values
    bound when it runs as one array parameter called ``name``."""
    return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(column.type)))


def among(
    dialect: Dialect, column: sa.ColumnElement[Any], values: Sequence[Any]
) -> Iterator[sa.ColumnElement[bool]]:
    """Conditions that together select the rows whose ``column`` is in ``values``, one per
    statement to run."""
    if not values:
        return
    if dialect.name == "postgresql":
        yield column == sa.any_(sa.bindparam(None, list(values), postgresql.ARRAY(column.type)))
        return
    for chunk in chunks(values):
        yield column.in_(chunk)
