"""Changes to the aggregate tables, summed in memory over a batch, written set-based.

Each aggregate of the registry (:mod:`services.projector.read_models`) gets one
``INSERT … ON CONFLICT DO UPDATE SET c = c + excluded.c`` per batch, never a round trip per
event. Rows are written in key order so that two projectors updating the same ancestors lock
them in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.attribution import Attribution
from services.projector.read_models import (
    AGGREGATES,
    PROGRESS,
    Cell,
    Contribute,
    Key,
    UnitCells,
    delete_if_zero,
)
from services.projector.rows import InitiativeRow
from shared.persistence.upsert import Writer


def _groups() -> tuple[tuple[Contribute, int, tuple[int, ...]], ...]:
    """(contribution, cell size, the aggregates it feeds): aggregates with the same
    contribution (rollup and progress) share one set of cells at the unit, so one fact adds
    to it once and each distinct key is spread once to every aggregate it feeds."""
    grouped: dict[Contribute, list[int]] = {}
    for index, aggregate in enumerate(AGGREGATES):
        grouped.setdefault(aggregate.contribution, []).append(index)
    groups = []
    for contribution, members in grouped.items():
        sizes = {len(AGGREGATES[index].columns) for index in members}
        if len(sizes) != 1:
            raise TypeError("aggregates sharing a contribution must count the same columns")
        groups.append((contribution, sizes.pop(), tuple(members)))
    return tuple(groups)


GROUPS = _groups()

Share = tuple[tuple[Cell, ...], ...]
"""What one initiative contributes: its cells for each of :data:`GROUPS`, in order."""


_CONTRIBUTIONS = [contribution for contribution, _, _ in GROUPS]


def share(row: InitiativeRow, zone: ZoneInfo) -> Share:
    day = row.bucket_date(zone)
    return tuple([contribution(row, day, zone) for contribution in _CONTRIBUTIONS])


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
        self.tables = tuple(vectors(len(aggregate.columns)) for aggregate in AGGREGATES)

    @property
    def progress(self) -> defaultdict[Key, list[int]]:
        """The changes the notifier hears of."""
        return self.tables[AGGREGATES.index(PROGRESS)]

    async def write(self, writer: Writer) -> None:
        """Add the changes (in a :class:`Pending` write: when it is flushed); :meth:`prune`
        once they are written."""
        for aggregate, changes in zip(AGGREGATES, self.tables, strict=True):
            await aggregate.add(writer, changes)

    async def prune(self, connection: AsyncConnection) -> None:
        """Delete the rows these changes may have brought to all zeros: those they lowered."""
        for aggregate, changes in zip(AGGREGATES, self.tables, strict=True):
            lowered = sorted(key for key, vector in changes.items() if min(vector) < 0)
            await delete_if_zero(connection, aggregate.table, lowered)


class UnitDeltas:
    """Contributions summed at the unit each initiative counts for, per epoch of its
    attribution, then spread once per batch to that unit's ancestors then: initiatives of
    one unit share their ancestors, so the per-ancestor work is done per distinct key, not
    per fact."""

    def __init__(self, attribution: Attribution) -> None:
        self.attribution = attribution
        self.cells = tuple(vectors(size) for _, size, _ in GROUPS)

    def add(self, share: Share, row: InitiativeRow, sign: int) -> None:
        """Count ``share`` ``sign`` times where ``row`` counts."""
        epoch = self.attribution.epoch(row.attributed_at)
        unit_id, campaign_id = row.unit_id, row.campaign_id
        for cells, contributed in zip(self.cells, share, strict=True):
            for local, index, count in contributed:
                cells[(unit_id, campaign_id, local, epoch)][index] += sign * count

    def spread(self, deltas: Deltas | None = None) -> Deltas:
        """The table changes (added to ``deltas`` when given): every unit's figures include
        its descendants', each counted where the aggregate puts it at that ancestor."""
        deltas = Deltas() if deltas is None else deltas
        for (_, _, members), cells in zip(GROUPS, self.cells, strict=True):
            nonzero: UnitCells = []
            for key, vector in cells.items():
                counts = [(index, count) for index, count in enumerate(vector) if count]
                if counts:
                    nonzero.append((key, counts))
            for index in members:
                aggregate = AGGREGATES[index]
                aggregate.spread(aggregate, self.attribution, nonzero, deltas.tables[index])
        return deltas


def row_changes(
    attribution: Attribution,
    removed: Iterable[InitiativeRow],
    added: Iterable[InitiativeRow],
    deltas: Deltas | None = None,
) -> Deltas:
    """The table changes (added to ``deltas`` when given) of taking ``removed`` rows'
    contributions out and putting ``added`` rows' in, where ``attribution`` counts them. A
    batch changes the aggregates by its final rows less the stored ones they replace: the
    contributions of the states in between cancel, so they are never worked out."""
    zones = attribution.view.campaigns
    cells = UnitDeltas(attribution)
    for sign, rows in ((-1, removed), (+1, added)):
        for row in rows:
            cells.add(share(row, zones.get(row.campaign_id).zone), row, sign)
    return cells.spread(deltas)
