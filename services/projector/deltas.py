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
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.attribution import Attribution
from services.projector.rows import Contribution, InitiativeRow
from services.projector.schema import (
    STATUS_COLUMNS,
    rm_author_refs,
    rm_breakdowns,
    rm_progress,
    rm_rollup_daily,
    rm_series_daily,
)
from shared.chunks import IN_LIST, chunks
from shared.persistence.upsert import Pending, Writer, add_to_rows, add_to_rows_returning

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
        self.author_refs: defaultdict[Key, int] = defaultdict(int)
        """(unit, campaign, phase, author key) → change of the initiatives naming it."""

    async def write(self, writer: Writer) -> None:
        """Author references first, at once: which of them reach or leave 0 decides the
        change of each phase's distinct authors, written before the rest of ``rm_progress``
        (one statement may not write a row twice)."""
        connection = writer.connection if isinstance(writer, Pending) else writer
        await add_counts(connection, rm_progress, ["authors"], await self._authors(connection))
        await add_counts(writer, rm_rollup_daily, STATUS_COLUMNS, self.rollup)
        await add_counts(writer, rm_progress, STATUS_COLUMNS, self.progress)
        await add_counts(writer, rm_series_daily, METRIC_COLUMNS, self.series)
        await add_counts(writer, rm_breakdowns, METRIC_COLUMNS, self.breakdowns)

    async def _authors(self, connection: AsyncConnection) -> dict[Key, list[int]]:
        """Add the author references; the change of distinct authors per phase row."""
        changes = sorted((key, n) for key, n in self.author_refs.items() if n)
        keys = [column.name for column in rm_author_refs.primary_key.columns]
        after = await add_to_rows_returning(
            connection, rm_author_refs, keys, ["initiatives"], [(*k, n) for k, n in changes]
        )
        added = dict(changes)
        distinct: defaultdict[Key, list[int]] = vectors(1)
        for *key, count in after:
            before = count - added[tuple(key)]
            if (before > 0) != (count > 0):
                distinct[tuple(key[:-1])][0] += 1 if count > 0 else -1
        await _forget(connection, [tuple(key) for *key, count in after if count == 0])
        return distinct


async def _forget(connection: AsyncConnection, keys: Sequence[Key]) -> None:
    """Drop the references no initiative holds any more (rare: an update or a late move), so
    the table is the same however the facts were batched."""
    table = rm_author_refs
    row = sa.tuple_(*table.primary_key.columns)
    for chunk in chunks(keys, IN_LIST // 4):  # four parameters a key
        await connection.execute(table.delete().where(row.in_(chunk)))


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
        self.authors: defaultdict[tuple[str, str, dt.date, int, str], int] = defaultdict(int)

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
        for author in contribution.authors:
            self.authors[(unit_id, campaign_id, contribution.bucket_date, epoch, author)] += sign

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
        for (unit_id, campaign_id, day, epoch, author), count in self.authors.items():
            for ancestor in attribution.ancestors(unit_id, epoch) if count else ():
                phase_id = attribution.phase_id(ancestor, campaign_id, day, epoch)
                if phase_id is not None:
                    deltas.author_refs[(ancestor, campaign_id, phase_id, author)] += count
                    deltas.author_refs[(ancestor, campaign_id, WHOLE_CAMPAIGN, author)] += count
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
