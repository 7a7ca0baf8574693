"""The follow-up list (đôn đốc): the units below one that an official should remind, for the
query API, the dashboard and the notifier's daily digest alike.

A unit is listed in a phase running at the instant judged, when it has a target there and
has submitted nothing yet, or is at risk by the domain's one pace rule
(``shared.domain.progress``, through :meth:`PhaseProgress.judge`). Figures are the current
read models; ``at`` decides which phase runs and how far it has gone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from services.projector.api.models import FollowUpEntry, PhaseProgress, Reason
from services.projector.api.queries import PhaseFigures, ReadModels, Unit
from services.projector.api.status import ranked_phase
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.text import fold


async def follow_up(
    read: ReadModels,
    unit_id: str,
    campaign_id: str,
    at: dt.datetime,
    phase_id: str | None = None,
) -> list[FollowUpEntry]:
    """The open units below ``unit_id`` to follow up at ``at`` in ``phase_id`` (None: each
    unit's phase running then), the most urgent first: no submission, then at risk by ratio
    ascending, then by name without diacritics."""
    today = at.astimezone(CAMPAIGN_ZONE).date()
    units: dict[str, Unit] = {}
    phases: defaultdict[str, list[PhaseFigures]] = defaultdict(list)
    for unit, figures in await read.running_targets(unit_id, campaign_id, today, phase_id):
        units[unit.unit_id] = unit
        phases[unit.unit_id].append(figures)
    entries = []
    for below, rows in phases.items():
        # A unit moved in the middle of a phase lists the phases of both schemes.
        chosen = ranked_phase(rows, phase_id, today)
        if chosen is not None:
            entry = FollowUpEntry.of(units[below], PhaseProgress.judge(chosen, at=at), today)
            if entry is not None:
                entries.append(entry)
    return sorted(entries, key=_urgency)


def _urgency(entry: FollowUpEntry) -> tuple[object, ...]:
    return (
        entry.reason is not Reason.NO_SUBMISSION,
        entry.ratio or 0.0,
        fold(entry.name),
        entry.name,
        entry.unit_id,
    )
