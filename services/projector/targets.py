"""``rm_targets`` and ``rm_target_history`` for units whose plan, membership or place changed.

A unit's phases and targets are resolved for every stretch of time in which its path to the
root and the plans along it stay the same, up to its merge: that is the phase
scheme its initiatives of the stretch count in, and what "as of" answers show. Consecutive
stretches that resolve alike are one row; ``rm_targets`` keeps each phase's latest row, so a
phase of a scheme the unit has left stays listed with the figures it holds.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Collection, Iterator, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.deltas import WHOLE_CAMPAIGN
from shared.domain.phases import meets
from shared.domain.plans import effective_plan
from shared.domain.targets import ResolvedTarget, effective_target
from shared.persistence.lookup import among
from shared.persistence.schema import rm_target_history, rm_targets
from shared.reference import ReferenceView

TARGET_COLUMNS = (
    "name",
    "starts_on",
    "ends_on",
    "metric",
    "kind",
    "value",
    "required",
    "members",
    "source_unit_id",
)


def target_rows(
    view: ReferenceView, campaign_id: str, unit_id: str, at: dt.datetime
) -> dict[str, tuple[object, ...]]:
    """The unit's phases at ``at`` (and its whole campaign, ``''``) with their resolved
    targets, as ``TARGET_COLUMNS`` values by phase id."""
    plan = effective_plan(view.hierarchy, view.plans, campaign_id, unit_id, at)
    if plan is None:
        return {}
    windows = [
        (phase.phase_id, phase.name, phase.starts_on, phase.ends_on) for phase in plan.phases
    ]
    windows.append(
        (
            WHOLE_CAMPAIGN,
            "",
            min(phase.starts_on for phase in plan.phases),
            max(phase.ends_on for phase in plan.phases),
        )
    )
    return {
        phase_id: (
            name,
            starts_on,
            ends_on,
            *_target_columns(
                effective_target(
                    view.hierarchy,
                    view.plans,
                    campaign_id,
                    unit_id,
                    phase_id or None,
                    at,
                    view.campaigns.get(campaign_id).zone,
                )
            ),
        )
        for phase_id, name, starts_on, ends_on in windows
    }


def _target_columns(target: ResolvedTarget | None) -> tuple[object, ...]:
    if target is None:
        return (None,) * 6
    return (
        target.metric.value,
        target.kind.value,
        str(target.value),
        target.required,
        target.members,
        target.source_unit_id,
    )


def stretches(
    view: ReferenceView, campaign_id: str, unit_id: str
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The stretches of time, until the unit is merged, in which its path and the plans along
    it stay the same. A closed unit keeps its stretches: an initiative recorded for it late,
    dated before the closure was known, still needs the phases it counts in."""
    for segment in view.hierarchy.segments(unit_id):
        cuts = {
            change
            for ancestor in segment.path
            for change in view.plans.changes(campaign_id, ancestor)
            if segment.since < change < segment.until
        }
        yield from itertools.pairwise(sorted({segment.since, segment.until, *cuts}))


def target_history(view: ReferenceView, campaign_id: str, unit_id: str) -> list[tuple[object, ...]]:
    """``rm_target_history`` rows of the unit: (phase id, valid from, valid to, listed,
    *``TARGET_COLUMNS`` values); equal consecutive stretches are one row."""
    versions: list[tuple[str, dt.datetime, dt.datetime, tuple[object, ...]]] = []
    latest: dict[str, int] = {}
    for since, until in stretches(view, campaign_id, unit_id):
        for phase_id, values in target_rows(view, campaign_id, unit_id, since).items():
            index = latest.get(phase_id)
            if index is not None and versions[index][2:] == (since, values):
                versions[index] = (phase_id, versions[index][1], until, values)
            else:
                latest[phase_id] = len(versions)
                versions.append((phase_id, since, until, values))
    zone = view.campaigns.get(campaign_id).zone
    return [
        (phase_id, since, until, _meets(values, since, until, zone), *values)
        for phase_id, since, until, values in versions
    ]


def _meets(
    values: tuple[object, ...], since: dt.datetime, until: dt.datetime, zone: ZoneInfo
) -> bool:
    """Whether the phase of ``target_rows`` values meets the stretch it was governed in."""
    _, starts_on, ends_on = values[:3]
    assert isinstance(starts_on, dt.date)
    assert isinstance(ends_on, dt.date)
    return meets(starts_on, ends_on, since, until, zone)


async def refresh(connection: AsyncConnection, view: ReferenceView, units: Collection[str]) -> None:
    """Rewrite the target history and current targets of ``units`` for every campaign."""
    known = sorted(unit for unit in units if unit in view.hierarchy)
    for campaign_id in view.campaigns.ids():
        for chunk in _chunks(known):
            history: list[dict[str, object]] = []
            current: dict[tuple[str, str], dict[str, object]] = {}
            for unit in chunk:
                for version in target_history(view, campaign_id, unit):
                    phase_id, since, until, listed, *values = version
                    key: dict[str, object] = {
                        "unit_id": unit,
                        "campaign_id": campaign_id,
                        "phase_id": phase_id,
                    }
                    targets = dict(zip(TARGET_COLUMNS, values, strict=True))
                    history.append(
                        key | targets | {"valid_from": since, "valid_to": until, "listed": listed}
                    )
                    if listed:
                        current[(unit, str(phase_id))] = key | targets
            for table in (rm_target_history, rm_targets):
                for condition in among(connection.dialect, table.c.unit_id, chunk):
                    await connection.execute(
                        table.delete().where(condition, table.c.campaign_id == campaign_id)
                    )
            if history:
                await connection.execute(rm_target_history.insert(), history)
            if current:
                await connection.execute(rm_targets.insert(), list(current.values()))


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
