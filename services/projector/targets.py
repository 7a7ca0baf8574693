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
from typing import NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.schema import WHOLE_CAMPAIGN, rm_target_history, rm_targets
from shared.chunks import chunks
from shared.domain.hierarchy import Hierarchy, MemberCounts
from shared.domain.phases import meets
from shared.domain.plans import Plans
from shared.domain.targets import ResolvedTarget, plans_along, target_from
from shared.persistence.lookup import among
from shared.persistence.upsert import insert_rows
from shared.reference import ReferenceView


class PhaseTarget(NamedTuple):
    """A phase's window and the target resolved for one unit: the columns of ``rm_targets``
    beyond its key."""

    name: str
    starts_on: dt.date
    ends_on: dt.date
    metric: str | None
    kind: str | None
    value: str | None
    required: int | None
    members: int | None
    source_unit_id: str | None


TARGET_COLUMNS = PhaseTarget._fields


def target_rows(
    hierarchy: Hierarchy,
    plans: Plans,
    campaign_id: str,
    zone: ZoneInfo,
    path: Sequence[str],
    at: dt.datetime,
    known: MemberCounts | None = None,
) -> dict[str, PhaseTarget]:
    """The phases at ``at`` (and the whole campaign, ``''``) of the unit ``path`` starts
    from (its ancestors then follow), with their resolved targets, by phase id; subtree
    memberships noted in ``known`` (``Hierarchy.members_on``)."""
    along = plans_along(plans, campaign_id, path, at)
    if not along:
        return {}
    plan = along[0][1]
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
    found = {}
    for phase_id, name, starts_on, ends_on in windows:
        target = target_from(hierarchy, along, path[0], phase_id or None, zone, known)
        found[phase_id] = PhaseTarget(name, starts_on, ends_on, *_resolved(target))
    return found


def _resolved(
    target: ResolvedTarget | None,
) -> tuple[str | None, str | None, str | None, int | None, int | None, str | None]:
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
) -> Iterator[tuple[dt.datetime, dt.datetime, tuple[str, ...]]]:
    """The stretches of time, until the unit is merged, in which its path and the plans along
    it stay the same, each with that path. A closed unit keeps its stretches: an initiative
    recorded for it late, dated before the closure was known, still needs the phases it
    counts in."""
    for segment in view.hierarchy.segments(unit_id):
        cuts = {
            change
            for ancestor in segment.path
            for change in view.plans.changes(campaign_id, ancestor)
            if segment.since < change < segment.until
        }
        for since, until in itertools.pairwise(sorted({segment.since, segment.until, *cuts})):
            yield since, until, segment.path


class TargetVersion(NamedTuple):
    """One ``rm_target_history`` row of a unit, without its key."""

    phase_id: str
    since: dt.datetime
    until: dt.datetime
    listed: bool
    target: PhaseTarget


def target_history(
    view: ReferenceView, campaign_id: str, unit_id: str, known: MemberCounts
) -> list[TargetVersion]:
    """The unit's ``rm_target_history`` rows: equal consecutive stretches are one row, listed
    when the phase's dates meet the time it governed."""
    zone = view.campaigns.get(campaign_id).zone
    versions: list[TargetVersion] = []
    latest: dict[str, int] = {}
    for since, until, path in stretches(view, campaign_id, unit_id):
        rows = target_rows(view.hierarchy, view.plans, campaign_id, zone, path, since, known)
        for phase_id, target in rows.items():
            index = latest.get(phase_id)
            if index is not None and (versions[index].until, versions[index].target) == (
                since,
                target,
            ):
                versions[index] = versions[index]._replace(until=until)
            else:
                latest[phase_id] = len(versions)
                versions.append(TargetVersion(phase_id, since, until, False, target))
    return [
        v._replace(listed=meets(v.target.starts_on, v.target.ends_on, v.since, v.until, zone))
        for v in versions
    ]


_KEY = ("unit_id", "campaign_id", "phase_id")
_HISTORY_COLUMNS = (*_KEY, "valid_from", "valid_to", "listed", *TARGET_COLUMNS)


async def refresh(connection: AsyncConnection, view: ReferenceView, units: Collection[str]) -> None:
    """Rewrite the target history and current targets of ``units`` for every campaign. The
    rows go as one array per column (``insert_rows``): a rebuild's first catch-up writes
    them for every unit of the country, and a parameter set per row cost more than
    resolving the targets. The current targets are then taken from the history by the
    database, which saves encoding a second copy of each row."""
    registered = sorted(unit for unit in units if unit in view.hierarchy)
    known: MemberCounts = {}
    for campaign_id in view.campaigns.ids():
        stored = await _any_stored(connection, campaign_id)
        for chunk in chunks(registered):
            history = [
                (unit, campaign_id, v.phase_id, v.since, v.until, v.listed, *v.target)
                for unit in chunk
                for v in target_history(view, campaign_id, unit, known)
            ]
            for table in (rm_target_history, rm_targets) if stored else ():
                for condition in among(connection.dialect, table.c.unit_id, chunk):
                    await connection.execute(
                        table.delete().where(condition, table.c.campaign_id == campaign_id)
                    )
            await insert_rows(connection, rm_target_history, _HISTORY_COLUMNS, history)
            for condition in among(connection.dialect, rm_target_history.c.unit_id, chunk):
                await connection.execute(_current(campaign_id, condition))


def _current(campaign_id: str, units: sa.ColumnElement[bool]) -> sa.Insert:
    """``rm_targets`` of ``units``: each phase's latest listed row of their history."""
    history = rm_target_history
    columns = (*_KEY, *TARGET_COLUMNS)
    latest = sa.func.row_number().over(
        partition_by=(history.c.unit_id, history.c.phase_id),
        order_by=history.c.valid_from.desc(),
    )
    listed = (
        sa.select(*(history.c[name] for name in columns), latest.label("latest"))
        .where(units, history.c.campaign_id == campaign_id, history.c.listed)
        .subquery()
    )
    chosen = sa.select(*(listed.c[name] for name in columns)).where(listed.c.latest == 1)
    return rm_targets.insert().from_select(columns, chosen)


async def _any_stored(connection: AsyncConnection, campaign_id: str) -> bool:
    """Whether the campaign has target rows to rewrite: a rebuild's first catch-up writes
    every unit's, and deleting from empty tables cost it 508 statements."""
    history = rm_target_history
    found = sa.select(history.c.unit_id).where(history.c.campaign_id == campaign_id).limit(1)
    return (await connection.execute(found)).first() is not None
