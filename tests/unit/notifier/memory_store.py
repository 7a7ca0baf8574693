"""An in-memory fake of the notifier's storage port (``services.notifier.store``): the
handlers run on it unchanged, thousands of examples a second."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Collection, Sequence
from collections.abc import Set as AbstractSet
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from services.notifier.rules import Decision, Row, Rule
from services.notifier.store import Key
from services.notifier.subscriptions import Subscriber
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.domain.phases import local_date


@dataclass
class MemoryStore:
    stored: dict[Key, Row] = field(default_factory=dict)
    decisions: dict[str, tuple[int, Decision]] = field(default_factory=dict)
    subscribers: list[Subscriber] = field(default_factory=list)
    queued: list[tuple[int, int]] = field(default_factory=list)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryStore]:
        yield self

    async def rows(self, keys: AbstractSet[Key]) -> dict[Key, Row]:
        return {key: self._with_threshold(self.stored[key]) for key in keys if key in self.stored}

    async def due(self, now: dt.datetime, *, running: bool = True) -> list[Row]:
        today = local_date(now, CAMPAIGN_ZONE)
        return [
            row
            for _, row in sorted(self.stored.items())
            if row.target is not None
            and (
                (running and row.starts_on <= today <= row.ends_on)
                or (row.ends_on < today and row.outcome is None)
            )
        ]

    async def save(self, rows: Sequence[Row]) -> None:
        for row in rows:  # the highest threshold decided is read from the decisions
            self.stored[row.key] = replace(row, decided_threshold=None)

    async def record(
        self, decisions: Sequence[Decision], now: dt.datetime
    ) -> list[tuple[int, Decision]]:
        recorded = []
        for decision in decisions:
            if decision.key not in self.decisions:
                self.decisions[decision.key] = (len(self.decisions) + 1, decision)
                recorded.append(self.decisions[decision.key])
        return recorded

    async def followers(self, unit_ids: Collection[str]) -> dict[str, list[Subscriber]]:
        return {u: [s for s in self.subscribers if s.unit_id == u] for u in unit_ids}

    async def queue(self, deliveries: Sequence[tuple[int, Subscriber]], now: dt.datetime) -> None:
        self.queued += [(decision_id, subscriber.id) for decision_id, subscriber in deliveries]

    def _with_threshold(self, row: Row) -> Row:
        """The highest threshold decided for the row, as the SQL adapter derives it."""
        decided = [
            d.threshold
            for _, d in self.decisions.values()
            if d.rule is Rule.THRESHOLD_CROSSED
            and (d.unit_id, d.campaign_id, d.phase_id) == row.key
            and d.threshold is not None
        ]
        return replace(row, decided_threshold=max(decided, default=None))
