"""``rm_targets`` and ``rm_progress`` for units whose plan, membership or place changed.

Targets come from the domain's resolution rules; progress is re-summed from the daily
rollup over the (possibly new) phase windows, so a changed plan never leaves a figure
counted in a phase it no longer belongs to.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.deltas import WHOLE_CAMPAIGN
from shared.domain.plans import effective_plan
from shared.domain.targets import ResolvedTarget, effective_target
from shared.persistence.schema import STATUS_COLUMNS, rm_progress, rm_rollup_daily, rm_targets
from shared.reference import ReferenceView

CHUNK = 500


def target_rows(view: ReferenceView, campaign_id: str, unit_id: str) -> list[dict[str, object]]:
    plan = effective_plan(view.hierarchy, view.plans, campaign_id, unit_id)
    if plan is None:
        return []
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
    rows = []
    for phase_id, name, starts_on, ends_on in windows:
        target = effective_target(
            view.hierarchy, view.plans, campaign_id, unit_id, phase_id or None
        )
        rows.append(
            {
                "unit_id": unit_id,
                "campaign_id": campaign_id,
                "phase_id": phase_id,
                "name": name,
                "starts_on": starts_on,
                "ends_on": ends_on,
                **_target_columns(target),
            }
        )
    return rows


def _target_columns(target: ResolvedTarget | None) -> dict[str, object]:
    if target is None:
        return dict.fromkeys(("metric", "kind", "value", "required", "members", "source_unit_id"))
    return {
        "metric": target.metric.value,
        "kind": target.kind.value,
        "value": str(target.value),
        "required": target.required,
        "members": target.members,
        "source_unit_id": target.source_unit_id,
    }


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


async def refresh(connection: AsyncConnection, view: ReferenceView, units: Collection[str]) -> None:
    """Rewrite targets and re-sum progress of ``units`` for every campaign."""
    known = sorted(unit for unit in units if unit in view.hierarchy)
    for campaign_id in view.campaigns.ids():
        for chunk in _chunks(known):
            rows = [row for unit in chunk for row in target_rows(view, campaign_id, unit)]
            scope = (rm_targets.c.unit_id.in_(chunk), rm_targets.c.campaign_id == campaign_id)
            await connection.execute(rm_targets.delete().where(*scope))
            if rows:
                await connection.execute(rm_targets.insert(), rows)
            await _resum_progress(connection, campaign_id, chunk)


async def _resum_progress(
    connection: AsyncConnection, campaign_id: str, units: Sequence[str]
) -> None:
    await connection.execute(
        rm_progress.delete().where(
            rm_progress.c.unit_id.in_(units), rm_progress.c.campaign_id == campaign_id
        )
    )
    sums = [sa.func.coalesce(sa.func.sum(rm_rollup_daily.c[c]), 0) for c in STATUS_COLUMNS]
    phases = (
        sa.select(rm_targets.c.unit_id, rm_targets.c.campaign_id, rm_targets.c.phase_id, *sums)
        .select_from(
            rm_targets.join(
                rm_rollup_daily,
                sa.and_(
                    rm_rollup_daily.c.unit_id == rm_targets.c.unit_id,
                    rm_rollup_daily.c.campaign_id == rm_targets.c.campaign_id,
                    rm_rollup_daily.c.bucket_date.between(
                        rm_targets.c.starts_on, rm_targets.c.ends_on
                    ),
                ),
            )
        )
        .where(
            rm_targets.c.unit_id.in_(units),
            rm_targets.c.campaign_id == campaign_id,
            rm_targets.c.phase_id != WHOLE_CAMPAIGN,
        )
        .group_by(rm_targets.c.unit_id, rm_targets.c.campaign_id, rm_targets.c.phase_id)
    )
    columns = ["unit_id", "campaign_id", "phase_id", *STATUS_COLUMNS]
    await connection.execute(rm_progress.insert().from_select(columns, phases))
    totals = (
        sa.select(
            rm_progress.c.unit_id,
            rm_progress.c.campaign_id,
            sa.literal(WHOLE_CAMPAIGN),
            *[sa.func.sum(rm_progress.c[c]) for c in STATUS_COLUMNS],
        )
        .where(rm_progress.c.unit_id.in_(units), rm_progress.c.campaign_id == campaign_id)
        .group_by(rm_progress.c.unit_id, rm_progress.c.campaign_id)
    )
    await connection.execute(rm_progress.insert().from_select(columns, totals))
