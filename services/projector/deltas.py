"""Changes to the aggregate tables, summed in memory over a batch, written set-based.

Each table gets one ``INSERT … ON CONFLICT DO UPDATE SET c = c + excluded.c`` per batch,
never a round trip per event. Rows are written in key order so that two projectors
updating the same ancestors lock them in the same order and cannot deadlock.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

from services.projector.attribution import Attribution
from services.projector.rows import Contribution, InitiativeRow
from services.projector.schema import (
    STATUS_COLUMNS,
    rm_breakdowns,
    rm_progress,
    rm_rollup_daily,
    rm_series_daily,
)
from shared.persistence.upsert import Writer, add_to_rows

STATUS_INDEX = {name: index for index, name in enumerate(STATUS_COLUMNS)}
METRIC_COLUMNS = ("submitted", "approved")
WHOLE_CAMPAIGN = ""
"""``phase_id`` of the row that sums every phase of a unit's plan."""

Key = tuple[str | dt.date, ...]


def vectors(size: int) -> defaultdict[Any, list[int]]:
    """Count vectors by row key, zero until first added to."""
    return defaultdict(lambda: [0] * size)


def add_into(into: defaultdict[Key, list[int]], more: Mapping[Key, list[int]]) -> None:
    """Add ``more``'s vectors to ``into``'s, key by key."""
    for key, vector in more.items():
        into[key] = [a + b for a, b in zip(into[key], vector, strict=True)]


class Deltas:
    """Changes of every aggregate table, per row key, for one batch."""

    def __init__(self) -> None:
        self.rollup: defaultdict[Key, list[int]] = vectors(len(STATUS_COLUMNS))
        self.progress: defaultdict[Key, list[int]] = vectors(len(STATUS_COLUMNS))
        self.series: defaultdict[Key, list[int]] = vectors(len(METRIC_COLUMNS))
        self.breakdowns: defaultdict[Key, list[int]] = vectors(len(METRIC_COLUMNS))

    async def write(self, writer: Writer) -> None:
        await add_counts(writer, rm_rollup_daily, STATUS_COLUMNS, self.rollup)
        await add_counts(writer, rm_progress, STATUS_COLUMNS, self.progress)
        await add_counts(writer, rm_series_daily, METRIC_COLUMNS, self.series)
        await add_counts(writer, rm_breakdowns, METRIC_COLUMNS, self.breakdowns)


class UnitDeltas:
    """Contributions summed at the unit each initiative counts for, per epoch of its
    attribution, then spread once per batch to that unit's ancestors then: initiatives of
    one unit share their ancestors, so the per-ancestor work is done per distinct key, not
    per fact."""

    def __init__(self, attribution: Attribution) -> None:
        self.attribution = attribution
        self.rollup: defaultdict[tuple[str, str, dt.date, int], list[int]] = vectors(
            len(STATUS_COLUMNS)
        )
        self.series: defaultdict[tuple[str, str, dt.date, int], list[int]] = vectors(
            len(METRIC_COLUMNS)
        )
        self.breakdowns: defaultdict[tuple[str, str, str, str, int], list[int]] = vectors(
            len(METRIC_COLUMNS)
        )

    def add(self, contribution: Contribution, row: InitiativeRow, sign: int) -> None:
        """Count ``contribution`` ``sign`` times where ``row`` counts."""
        epoch = self.attribution.epoch(row.attributed_at)
        unit_id, campaign_id = row.unit_id, row.campaign_id
        self.rollup[(unit_id, campaign_id, contribution.bucket_date, epoch)][
            STATUS_INDEX[contribution.status]
        ] += sign
        for day, submitted, approved in contribution.series:
            cell = self.series[(unit_id, campaign_id, day, epoch)]
            cell[0] += sign * submitted
            cell[1] += sign * approved
        for dimension, value, submitted, approved in contribution.breakdowns:
            cell = self.breakdowns[(unit_id, campaign_id, dimension, value, epoch)]
            cell[0] += sign * submitted
            cell[1] += sign * approved

    def spread(self, deltas: Deltas | None = None) -> Deltas:
        """The table changes (added to ``deltas`` when given): every unit's figures include
        its descendants', and progress counts each day in the phase of each ancestor's plan
        at the initiative's attribution."""
        deltas = Deltas() if deltas is None else deltas
        attribution = self.attribution
        for (unit_id, campaign_id, day, epoch), vector in self.rollup.items():
            counts = _nonzero(vector)
            for ancestor in attribution.ancestors(unit_id, epoch) if counts else ():
                _add(deltas.rollup[(ancestor, campaign_id, day)], counts)
                phase_id = attribution.phase_id(ancestor, campaign_id, day, epoch)
                if phase_id is not None:
                    _add(deltas.progress[(ancestor, campaign_id, phase_id)], counts)
                    _add(deltas.progress[(ancestor, campaign_id, WHOLE_CAMPAIGN)], counts)
        for source, target in ((self.series, deltas.series), (self.breakdowns, deltas.breakdowns)):
            for key, vector in source.items():
                counts = _nonzero(vector)
                for ancestor in attribution.ancestors(key[0], key[-1]) if counts else ():
                    _add(target[(ancestor, *key[1:-1])], counts)
        return deltas


def _nonzero(vector: list[int]) -> list[tuple[int, int]]:
    """(index, count) of the non-zero counts: a fact changes one or two of seven."""
    return [(index, count) for index, count in enumerate(vector) if count]


def _add(cell: list[int], counts: list[tuple[int, int]]) -> None:
    for index, count in counts:
        cell[index] += count


async def add_counts(
    writer: Writer,
    table: sa.Table,
    columns: Sequence[str],
    deltas: Mapping[Key, list[int]],
) -> None:
    """Add each non-zero vector to its row, creating rows that do not exist yet."""
    keys = [column.name for column in table.primary_key.columns]
    rows = [
        (*key, *vector) for key, vector in sorted(deltas.items(), key=itemgetter(0)) if any(vector)
    ]
    await add_to_rows(writer, table, keys, columns, rows)
