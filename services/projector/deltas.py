"""Changes to the aggregate tables, summed in memory over a batch, written set-based.

Each aggregate of the registry (:mod:`services.projector.read_models`) gets one
``INSERT … ON CONFLICT DO UPDATE SET c = c + excluded.c`` per batch, never a round trip per
event. Rows are written in key order so that two projectors updating the same ancestors lock
them in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from services.projector.attribution import Attribution
from services.projector.read_models import AGGREGATES, PROGRESS, Cell, Key
from services.projector.rows import InitiativeRow
from shared.persistence.upsert import Writer

Share = tuple[tuple[Cell, ...], ...]
"""What one initiative contributes: its cells for each aggregate, in ``AGGREGATES`` order."""


def share(row: InitiativeRow, zone: ZoneInfo) -> Share:
    return tuple(aggregate.contribution(row, zone) for aggregate in AGGREGATES)


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
        for aggregate, changes in zip(AGGREGATES, self.tables, strict=True):
            await aggregate.add(writer, changes)


class UnitDeltas:
    """Contributions summed at the unit each initiative counts for, per epoch of its
    attribution, then spread once per batch to that unit's ancestors then: initiatives of
    one unit share their ancestors, so the per-ancestor work is done per distinct key, not
    per fact."""

    def __init__(self, attribution: Attribution) -> None:
        self.attribution = attribution
        self.cells = tuple(vectors(len(aggregate.columns)) for aggregate in AGGREGATES)

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
        attribution = self.attribution
        for aggregate, cells, target in zip(AGGREGATES, self.cells, deltas.tables, strict=True):
            spread = aggregate.spread
            for (unit_id, campaign_id, local, epoch), vector in cells.items():
                counts = [(index, count) for index, count in enumerate(vector) if count]
                for ancestor in attribution.ancestors(unit_id, epoch) if counts else ():
                    for key in spread(attribution, ancestor, campaign_id, local, epoch):
                        cell = target[key]
                        for index, count in counts:
                            cell[index] += count
        return deltas
