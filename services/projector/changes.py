"""Which (unit, campaign, phase) figures a batch changed, with their values before and after.

"Before" is read just before targets are rewritten for units whose reference data changed;
for every other row it is "after" minus the batch's own delta, so no extra read is needed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from operator import itemgetter

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from services.projector.deltas import STATUS_INDEX, Key
from shared.contracts.campaigns import Metric
from shared.contracts.progress import ProgressChanged, ProgressFigures
from shared.domain.progress import metric_statuses
from shared.persistence.lookup import among
from shared.persistence.schema import STATUS_COLUMNS, rm_progress, rm_targets


@dataclass(frozen=True)
class Figures:
    name: str
    starts_on: dt.date
    ends_on: dt.date
    metric: str | None
    target: int | None
    counts: tuple[int, ...]

    @property
    def value(self) -> int:
        return metric_value(self.metric, self.counts)


_METRIC_COUNTS = {
    metric: itemgetter(*(STATUS_INDEX[status] for status in metric_statuses(metric)))
    for metric in Metric
}


def metric_value(metric: str | None, counts: tuple[int, ...] | list[int]) -> int:
    """The domain's metric value, read from a row of counts in ``STATUS_COLUMNS`` order."""
    return sum(_METRIC_COUNTS[Metric(metric or Metric.SUBMITTED)](counts))


Snapshot = dict[tuple[str, str, str], Figures]


async def snapshot(connection: AsyncConnection, units: Collection[str]) -> Snapshot:
    """Targets and counts of every phase row of ``units``."""
    found: Snapshot = {}
    ordered = sorted(units)
    join = sa.and_(
        rm_progress.c.unit_id == rm_targets.c.unit_id,
        rm_progress.c.campaign_id == rm_targets.c.campaign_id,
        rm_progress.c.phase_id == rm_targets.c.phase_id,
    )
    for condition in among(connection.dialect, rm_targets.c.unit_id, ordered):
        result = await connection.execute(
            sa.select(
                rm_targets,
                *(sa.func.coalesce(rm_progress.c[c], 0).label(f"n_{c}") for c in STATUS_COLUMNS),
            )
            .select_from(rm_targets.outerjoin(rm_progress, join))
            .where(condition)
        )
        for row in result.mappings():
            found[(row["unit_id"], row["campaign_id"], row["phase_id"])] = Figures(
                name=row["name"],
                starts_on=row["starts_on"],
                ends_on=row["ends_on"],
                metric=row["metric"],
                target=row["required"],
                counts=tuple(row[f"n_{c}"] for c in STATUS_COLUMNS),
            )
    return found


def changed(
    before: Snapshot,
    after: Snapshot,
    progress_deltas: Mapping[Key, list[int]],
    as_of: dt.datetime,
) -> list[ProgressChanged]:
    """One message per phase row whose value or target differs from before the batch."""
    messages = []
    for key, now in sorted(after.items()):
        then = before.get(key)
        value = now.value
        if then is not None:
            old = (metric_value(now.metric, then.counts), then.target)
        elif delta := progress_deltas.get(key):
            old = (value - metric_value(now.metric, delta), now.target)
        else:
            continue  # neither its counts nor its target moved in this batch
        if old == (value, now.target):
            continue
        unit_id, campaign_id, phase_id = key
        messages.append(
            ProgressChanged(
                unit_id=unit_id,
                campaign_id=campaign_id,
                phase_id=phase_id,
                phase_name=now.name,
                starts_on=now.starts_on,
                ends_on=now.ends_on,
                metric=now.metric,
                before=ProgressFigures(value=old[0], target=old[1]),
                after=ProgressFigures(value=value, target=now.target),
                as_of=as_of,
            )
        )
    return messages
