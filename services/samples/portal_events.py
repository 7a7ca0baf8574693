"""Builders of portal events as portals send them (plain JSON documents)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

from shared.contracts.registry import CURRENT

CAMPAIGN = "1-trieu-sang-kien"
CAMPAIGN_NAME = "1 triệu sáng kiến"
_ids = itertools.count(1)

Event = dict[str, Any]


def envelope(
    event_type: str,
    data: dict[str, Any],
    *,
    at: str,
    event_id: str | None = None,
    schema_version: int | None = None,
) -> Event:
    """A portal event of ``event_type`` at ``schema_version`` (default: the current one)."""
    return {
        "event_id": event_id or f"ev-{next(_ids)}",
        "type": event_type,
        "schema_version": schema_version or CURRENT.model_for(event_type).schema_version,
        "occurred_at": at,
        "source": "sample-portal",
        "data": data,
    }


def campaign_defined(campaign_id: str = CAMPAIGN, **kw: Any) -> Event:
    return envelope(
        "campaign.defined",
        {"campaign_id": campaign_id, "name": CAMPAIGN_NAME},
        at="2022-01-01T08:00:00+07:00",
        **kw,
    )


def unit_registered(
    unit_id: str, parent_id: str | None, level: str = "grassroots", name: str = "", **kw: Any
) -> Event:
    data = {
        "unit_id": unit_id,
        "name": name or f"Đơn vị {unit_id}",
        "parent_id": parent_id,
        "level": level,
    }
    return envelope("unit.registered", data, at="2022-01-02T08:00:00+07:00", **kw)


def unit_moved(unit_id: str, new_parent_id: str, **kw: Any) -> Event:
    data = {"unit_id": unit_id, "new_parent_id": new_parent_id}
    return envelope("unit.moved", data, at="2022-03-01T08:00:00+07:00", **kw)


def unit_merged(unit_id: str, into_unit_id: str, **kw: Any) -> Event:
    data = {"unit_id": unit_id, "into_unit_id": into_unit_id}
    return envelope("unit.merged", data, at="2022-03-01T08:00:00+07:00", **kw)


def unit_closed(unit_id: str, **kw: Any) -> Event:
    return envelope("unit.closed", {"unit_id": unit_id}, at="2022-03-01T08:00:00+07:00", **kw)


def membership(unit_id: str, members: int, as_of: str = "2021-12-31", **kw: Any) -> Event:
    data = {"unit_id": unit_id, "members": members, "as_of": as_of}
    return envelope("unit.membership_reported", data, at="2022-01-03T08:00:00+07:00", **kw)


def plan_set(
    unit_id: str,
    phases: list[tuple[str, str, str]],
    targets: list[dict[str, Any]],
    names: Mapping[str, str] | None = None,
    **kw: Any,
) -> Event:
    """A plan of ``phases`` (id, first day, last day), each named by ``names`` (else by its
    id, as tests that only need ids do)."""
    named = names or {}
    data = {
        "campaign_id": CAMPAIGN,
        "unit_id": unit_id,
        "phases": [
            {"phase_id": p, "name": named.get(p, p), "starts_on": start, "ends_on": end}
            for p, start, end in phases
        ],
        "targets": targets,
    }
    return envelope("plan.set", data, at="2022-01-04T08:00:00+07:00", **kw)


AUTHOR = {"name": "Nguyễn Văn A", "author_type": "member"}


def submitted(
    initiative_id: str,
    unit_id: str,
    at: str = "2022-05-12T10:00:00+07:00",
    *,
    category: str = "productivity",
    authors: list[dict[str, Any]] | None = None,
    **kw: Any,
) -> Event:
    data = {
        "initiative_id": initiative_id,
        "campaign_id": CAMPAIGN,
        "unit_id": unit_id,
        "title": f"Sáng kiến {initiative_id}",
        "category": category,
        "solution_type": "technical",
        "authors": authors or [AUTHOR],
    }
    return envelope("initiative.submitted", data, at=at, **kw)


def updated(initiative_id: str, at: str, **changes: Any) -> Event:
    """``initiative.updated``: the details in ``changes`` corrected (event_id= passes through)."""
    event_id = changes.pop("event_id", None)
    data = {"initiative_id": initiative_id, **changes}
    return envelope("initiative.updated", data, at=at, event_id=event_id)


def reviewed(
    event_type: str, initiative_id: str, at: str = "2022-05-20T10:00:00+07:00", **data: Any
) -> Event:
    """``initiative.approved``, ``.rejected`` (pass reason=), ``.withdrawn``, ``.recognized`` …"""
    event_id = data.pop("event_id", None)
    return envelope(event_type, {"initiative_id": initiative_id, **data}, at=at, event_id=event_id)


def small_tree() -> list[Event]:
    """A campaign and a province → district → two grassroots unions."""
    return [
        campaign_defined(),
        unit_registered("vn", None, "national"),
        unit_registered("bk", "vn", "province"),
        unit_registered("bk-bt", "bk", "district"),
        unit_registered("bk-cdcs-1", "bk-bt", "grassroots"),
        unit_registered("bk-cdcs-2", "bk-bt", "grassroots"),
    ]
