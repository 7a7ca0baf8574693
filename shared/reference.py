"""An in-memory view of the reference data, kept current from the one ``reference`` stream.

Ingest validates against it and the projector resolves ancestors, phases and targets with
it. Every holder catches up by reading only the versions after the one it holds, so any
number of instances stay consistent without locks; a holder that applied facts it then
failed to store reloads from scratch.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from shared.contracts.base import REFERENCE_STREAM, EventData
from shared.contracts.campaigns import CampaignDefined, PlanSet
from shared.contracts.recorded import RecordedEvent
from shared.domain.campaign import Campaigns
from shared.domain.hierarchy import UNIT_FACT_APPLIERS, Hierarchy
from shared.domain.plans import Plans
from shared.eventstore.port import EventStore
from shared.failures import reason

log = logging.getLogger(__name__)

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
        try:
            applier = REFERENCE_FACT_APPLIERS[type(fact)]
        except KeyError:
            raise TypeError(f"the reference view has no rule for {fact.type} facts") from None
        since = applier(self, fact, record.occurred_at)
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


def _unit_fact(view: ReferenceView, fact: EventData, at: dt.datetime) -> dt.datetime:
    view.hierarchy.apply(fact, at)
    return at


def _campaign(view: ReferenceView, fact: CampaignDefined, at: dt.datetime) -> dt.datetime:
    view.campaigns.apply(fact)
    return at


def _plan(view: ReferenceView, fact: PlanSet, at: dt.datetime) -> dt.datetime:
    return view.plans.set(fact, at)


REFERENCE_FACT_APPLIERS: dict[
    type[EventData], Callable[[ReferenceView, Any, dt.datetime], dt.datetime]
] = {
    **dict.fromkeys(UNIT_FACT_APPLIERS, _unit_fact),
    CampaignDefined: _campaign,
    PlanSet: _plan,
}
"""How the view applies each reference fact (returning the instant it takes effect from); a
type missing here is an error when applied, and a test holds the table to the registry."""
