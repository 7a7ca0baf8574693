"""An in-memory view of the reference data, kept current from the one ``reference`` stream.

Ingest validates against it and the projector resolves ancestors, phases and targets with
it. Every holder catches up by reading only the versions after the one it holds, so any
number of instances stay consistent without locks; a holder that applied facts it then
failed to store reloads from scratch.
"""

from __future__ import annotations

import datetime as dt
import logging

from shared.contracts.base import REFERENCE_STREAM
from shared.contracts.campaigns import CampaignDefined, PlanSet
from shared.contracts.recorded import RecordedEvent
from shared.contracts.units import (
    UnitClosed,
    UnitLevelChanged,
    UnitMembershipReported,
    UnitMerged,
    UnitMoved,
    UnitRegistered,
    UnitRenamed,
)
from shared.domain.campaign import Campaigns
from shared.domain.hierarchy import Hierarchy
from shared.domain.plans import Plans
from shared.eventstore.port import EventStore
from shared.failures import reason

log = logging.getLogger(__name__)

UNIT_FACTS = (
    UnitRegistered,
    UnitMembershipReported,
    UnitMoved,
    UnitMerged,
    UnitClosed,
    UnitRenamed,
    UnitLevelChanged,
)


PAGE = 5_000
"""Reference facts read per query."""


class ReferenceView:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self.hierarchy = Hierarchy()
        self.campaigns = Campaigns()
        self.plans = Plans()
        self.version = 0
        self.until: int | None = None
        """When set, the view reads no further than this version (the projector stops the
        reference stream before a fact it could not apply)."""

    def apply(self, record: RecordedEvent) -> dt.datetime:
        """Apply one stored reference fact (already checked when it was accepted); the
        instant from which it changes anything (a unit's earliest plan: from the start)."""
        fact = record.fact()
        since = record.occurred_at
        if isinstance(fact, UNIT_FACTS):
            self.hierarchy.apply(fact, since)
        elif isinstance(fact, CampaignDefined):
            self.campaigns.apply(fact)
        elif isinstance(fact, PlanSet):
            since = self.plans.set(fact, since)
        self.version = record.stream_version
        return since

    async def catch_up(self) -> None:
        """Apply what other writers appended since the version held.

        A stored fact this code cannot apply is logged and passed over, so validation goes
        on (the projector quarantines the same fact for an operator to see and retry)."""
        while fresh := await self.next_page():
            for record in fresh:
                try:
                    self.apply(record)
                except Exception as error:
                    log.error(
                        "reference fact passed over: it cannot be applied",
                        extra={
                            "stream_version": record.stream_version,
                            "event_id": record.event_id,
                            "type": record.type,
                            "reason": reason(error),
                        },
                    )
                    self.version = record.stream_version

    async def next_page(self) -> list[RecordedEvent]:
        """The next reference facts after the version held, a page at a time: a national
        campaign's 250,000 read at once took 850 MB as records, four times the view."""
        limit = PAGE if self.until is None else min(PAGE, self.until - self.version)
        if limit <= 0:
            return []
        return await self._store.read_stream(REFERENCE_STREAM, self.version, limit=limit)

    async def reload(self) -> None:
        """Forget local changes that were never stored (a failed append) and read afresh."""
        self.hierarchy = Hierarchy()
        self.campaigns = Campaigns()
        self.plans = Plans()
        self.version = 0
        await self.catch_up()
