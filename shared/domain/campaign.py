"""Campaigns (phát động): an id, a name and the time zone their dates are read in."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from shared.contracts.campaigns import DEFAULT_TIME_ZONE, CampaignDefined
from shared.domain.errors import DuplicateCampaign, UnknownCampaign

CAMPAIGN_ZONE = ZoneInfo(DEFAULT_TIME_ZONE)
"""The zone of a campaign that names none, where the query API and the notifier read
"today" and local hours."""


@dataclass(frozen=True, slots=True)
class Campaign:
    campaign_id: str
    name: str
    zone: ZoneInfo

    @classmethod
    def from_fact(cls, fact: CampaignDefined) -> Campaign:
        return cls(fact.campaign_id, fact.name, ZoneInfo(fact.time_zone))


class Campaigns:
    """The defined campaigns; a campaign is defined once (its zone fixes every phase)."""

    def __init__(self) -> None:
        self._campaigns: dict[str, Campaign] = {}

    def __contains__(self, campaign_id: object) -> bool:
        return campaign_id in self._campaigns

    def check(self, fact: CampaignDefined) -> None:
        if fact.campaign_id in self._campaigns:
            raise DuplicateCampaign(f"campaign {fact.campaign_id!r} is already defined")

    def apply(self, fact: CampaignDefined) -> None:
        self._campaigns[fact.campaign_id] = Campaign.from_fact(fact)

    def get(self, campaign_id: str) -> Campaign:
        try:
            return self._campaigns[campaign_id]
        except KeyError:
            raise UnknownCampaign(f"campaign {campaign_id!r} is not defined") from None

    def ids(self) -> tuple[str, ...]:
        return tuple(self._campaigns)
