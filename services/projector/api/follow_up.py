"""The follow-up list (đôn đốc): the units below one that an official should remind, for the
query API, the dashboard and the notifier's daily digest alike.

A unit is listed in a phase running at the instant judged, when it has a target there and
has submitted nothing yet, or is at risk by the domain's one pace rule
(``shared.domain.progress``, through :func:`evaluate`). Figures are the current
read models; ``at`` decides which phase runs and how far it has gone.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from services.projector.api.models import FollowUpEntry, Reason
from services.projector.api.queries import ReadModels, RunningTarget
from services.projector.api.status import evaluate, ranked_phase
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.text import fold_diacritics


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
    phases: defaultdict[str, list[RunningTarget]] = defaultdict(list)
    for row in await read.running_targets(unit_id, campaign_id, today, phase_id):
        phases[row.unit_id].append(row)
    entries = []
    for rows in phases.values():
        # A unit moved in the middle of a phase lists the phases of both schemes.
        chosen = ranked_phase(rows, phase_id, today)
        if chosen is None:
            continue
        status = evaluate(
            value=chosen.value,
            target=chosen.required,
            starts_on=chosen.starts_on,
            ends_on=chosen.ends_on,
            at=at,
        )
        if (entry := FollowUpEntry.of(chosen, status, today)) is not None:
            entries.append(entry)
    return sorted(entries, key=_urgency)


def _urgency(entry: FollowUpEntry) -> tuple[object, ...]:
    return (
        entry.reason is not Reason.NO_SUBMISSION,
        entry.ratio or 0.0,
        fold_diacritics(entry.name),
        entry.name,
        entry.unit_id,
    )
