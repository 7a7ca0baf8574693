"""Ingest's view of the reference data it validates against: the hierarchy and campaigns.

The hierarchy is rebuilt from the one ``hierarchy`` stream and caught up by reading only the
versions after the one held, so several ingest instances stay consistent without locks:
a structural change appended with a stale version fails and is retried after a catch-up.
Campaigns never change once defined, so a miss is looked up in the store and cached.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.contracts.base import HIERARCHY_STREAM, campaign_stream
from shared.contracts.campaigns import CampaignDefined
from shared.domain.campaign import Campaigns
from shared.domain.hierarchy import Hierarchy
from shared.eventstore.port import EventStore


class ReferenceView:
    def __init__(self, store: EventStore) -> None:
        self._store = store
        self.hierarchy = Hierarchy()
        self.hierarchy_version = 0
        self.campaigns = Campaigns()

    async def catch_up(self) -> None:
        """Apply the structural facts other writers appended since the version held."""
        for record in await self._store.read_stream(HIERARCHY_STREAM, self.hierarchy_version):
            self.hierarchy.apply(record.fact())
            self.hierarchy_version = record.stream_version

    async def reload(self) -> None:
        """Forget local changes that were never stored (a failed append) and read afresh."""
        self.hierarchy = Hierarchy()
        self.hierarchy_version = 0
        self.campaigns = Campaigns()
        await self.catch_up()

    async def load_campaigns(self, campaign_ids: Iterable[str]) -> None:
        """Make the stored definitions of these campaigns known (unknown ones stay unknown)."""
        missing = [campaign_stream(c) for c in set(campaign_ids) if c not in self.campaigns]
        for history in (await self._store.read_streams(missing)).values():
            for record in history:
                fact = record.fact()
                if isinstance(fact, CampaignDefined):
                    self.campaigns.apply(fact)
