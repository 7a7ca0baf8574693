"""Changes to the aggregate tables, summed in memory over a batch, written set-based.

Each table gets one ``INSERT … ON CONFLICT DO UPDATE SET c = c + excluded.c`` per batch,
never a round trip per event. Rows are written in key order so that two projectors
updating the same ancestors lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.rows import Contribution
from shared.persistence.schema import (
    STATUS_COLUMNS,
    rm_breakdowns,
    rm_progress,
    rm_rollup_daily,
    rm_series_daily,
)
from shared.persistence.upsert import insert_on_conflict

STATUS_INDEX = {name: index for index, name in enumerate(STATUS_COLUMNS)}
METRIC_COLUMNS = ("submitted", "approved")
WHOLE_CAMPAIGN = ""
"""``phase_id`` of the row that sums every phase of a unit's plan."""

Key = tuple[str | dt.date, ...]


def vectors(size: int) -> defaultdict[Key, list[int]]:
    return defaultdict(lambda: [0] * size)


class Deltas:
    def __init__(self) -> None:
        self.rollup = vectors(len(STATUS_COLUMNS))
        self.progress = vectors(len(STATUS_COLUMNS))
        self.series = vectors(len(METRIC_COLUMNS))
        self.breakdowns = vectors(len(METRIC_COLUMNS))

    def add(
        self,
        contribution: Contribution,
        campaign_id: str,
        units: Iterable[tuple[str, str | None]],
        sign: int,
    ) -> None:
        """Count ``contribution`` ``sign`` times for each ``(unit, phase_id or None)``."""
        status = STATUS_INDEX[contribution.status.value]
        for unit_id, phase_id in units:
            self.rollup[(unit_id, campaign_id, contribution.bucket_date)][status] += sign
            if phase_id is not None:
                self.progress[(unit_id, campaign_id, phase_id)][status] += sign
                self.progress[(unit_id, campaign_id, WHOLE_CAMPAIGN)][status] += sign
            for day, submitted, approved in contribution.series:
                cell = self.series[(unit_id, campaign_id, day)]
                cell[0] += sign * submitted
                cell[1] += sign * approved
            for dimension, value, submitted, approved in contribution.breakdowns:
                cell = self.breakdowns[(unit_id, campaign_id, dimension, value)]
                cell[0] += sign * submitted
                cell[1] += sign * approved

    async def write(self, connection: AsyncConnection) -> None:
        await add_counts(connection, rm_rollup_daily, STATUS_COLUMNS, self.rollup)
        await add_counts(connection, rm_progress, STATUS_COLUMNS, self.progress)
        await add_counts(connection, rm_series_daily, METRIC_COLUMNS, self.series)
        await add_counts(connection, rm_breakdowns, METRIC_COLUMNS, self.breakdowns)


async def add_counts(
    connection: AsyncConnection,
    table: sa.Table,
    columns: Sequence[str],
    deltas: Mapping[Key, list[int]],
) -> None:
    """Add each non-zero vector to its row, creating rows that do not exist yet."""
    keys = [column.name for column in table.primary_key.columns]
    rows = [
        dict(zip((*keys, *columns), (*key, *vector), strict=True))
        for key, vector in sorted(deltas.items(), key=lambda item: tuple(map(str, item[0])))
        if any(vector)
    ]
    if not rows:
        return
    statement = insert_on_conflict(connection.dialect, table)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=keys,
            set_={column: table.c[column] + statement.excluded[column] for column in columns},
        ),
        rows,
    )
