"""What one unit's page shows, gathered from the query API's own answers.

When the address does not say, the page picks what an official most likely wants: the
campaign with a phase under way (else the latest one), and that phase for the chart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from markupsafe import Markup

from services.projector.api.answers import (
    QueryContext,
    breakdowns_of,
    children_of,
    planned_progress,
    series_of,
)
from services.projector.api.dashboard.charts import Bar, ProgressLabels, bar_chart, progress_chart
from services.projector.api.dashboard.i18n import Formats
from services.projector.api.dashboard.notifications import (
    NotificationLine,
    notification_line,
    recent_decisions,
)
from services.projector.api.follow_up import follow_up
from services.projector.api.models import Children, FollowUpEntry, PhaseProgress, Progress
from services.projector.api.queries import Breakdown, Placed, Unit
from services.projector.api.status import Sort, current_phase
from services.projector.schema import WHOLE_CAMPAIGN
from shared.contracts.campaigns import Metric
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.web.auth import Scope

FOLLOW_UP_SHOWN = 20
"""Units the page lists to follow up; the rest are a link away."""


@dataclass(frozen=True, slots=True)
class UnitPage:
    unit: Unit
    trail: list[Unit]
    """Ancestors inside the viewer's scope, the highest first."""
    campaigns: list[str]
    campaign_names: Mapping[str, str]
    """Each campaign's name, for the switcher and the header (its id where none is known)."""
    evaluated_at: dt.datetime
    as_of: dt.datetime | None
    campaign_id: str | None = None
    progress: Progress | None = None
    chosen: PhaseProgress | None = None
    """The phase the chart shows."""
    chart: Markup | None = None
    children: Children | None = None
    by_category: Markup | None = None
    by_author_type: Markup | None = None
    notifications: list[NotificationLine] = field(default_factory=list)
    follow_up: list[FollowUpEntry] = field(default_factory=list)
    """The first :data:`FOLLOW_UP_SHOWN` units below to follow up, judged now."""
    follow_up_total: int = 0

    @property
    def rows(self) -> list[PhaseProgress]:
        """The phases, then the whole campaign."""
        return [] if self.progress is None else _rows(self.progress)


def _rows(progress: Progress) -> list[PhaseProgress]:
    return [*progress.phases, *([progress.total] if progress.total else [])]


def _below(ancestors: list[Unit], scope_unit: str) -> list[Unit]:
    """The ancestors from the viewer's own unit down: higher ones are not theirs to open."""
    ids = [unit.unit_id for unit in ancestors]
    return ancestors[ids.index(scope_unit) :] if scope_unit in ids else []


def default_campaign(plans: Mapping[str, Progress | None], today: dt.date) -> str | None:
    """The campaign with a phase containing ``today``, else the one that started last."""
    for campaign_id, progress in plans.items():
        if progress and any(p.starts_on <= today <= p.ends_on for p in progress.phases):
            return campaign_id
    started = {c: p.total.starts_on if p and p.total else dt.date.min for c, p in plans.items()}
    return max(started, key=lambda c: (started[c], c), default=None)


async def unit_page(
    context: QueryContext,
    scope: Scope,
    placed: Placed,
    formats: Formats,
    *,
    campaign_id: str | None,
    phase_id: str | None,
    as_of: dt.datetime | None,
) -> UnitPage:
    at = as_of or context.clock()
    today = at.astimezone(CAMPAIGN_ZONE).date()
    unit, campaigns = placed
    ancestors = await context.read.ancestors(unit.unit_id)
    plans = {c: await planned_progress(context, unit, c, as_of) for c in campaigns}
    chosen_campaign = campaign_id if campaign_id in plans else default_campaign(plans, today)
    base = UnitPage(
        unit=unit,
        trail=ancestors if scope.is_admin else _below(ancestors, scope.unit_id),
        campaigns=campaigns,
        campaign_names=await context.read.campaign_names(campaigns),
        evaluated_at=at,
        as_of=as_of,
    )
    if chosen_campaign is None:
        return base
    progress = plans[chosen_campaign]
    rows = [] if progress is None else _rows(progress)
    asked = next((row for row in rows if row.phase_id == phase_id), None)
    chosen = asked or current_phase(rows, today)
    breakdowns = await breakdowns_of(context, unit, chosen_campaign)
    decisions = await recent_decisions(context.read.engine, unit.unit_id, chosen_campaign)
    # Like the ranking: the phase asked for, else each unit's own running phase, judged now.
    reminders = await follow_up(
        context.read,
        unit.unit_id,
        chosen_campaign,
        context.clock(),
        asked.phase_id if asked else None,
    )
    words = formats.words
    return UnitPage(
        unit=base.unit,
        trail=base.trail,
        campaigns=campaigns,
        campaign_names=base.campaign_names,
        evaluated_at=at,
        as_of=as_of,
        campaign_id=chosen_campaign,
        progress=progress,
        chosen=chosen,
        chart=await _chart(context, unit, chosen_campaign, chosen, at, formats),
        # Ranked in the phase asked for, else each child in its own current phase.
        children=await children_of(
            context, unit, chosen_campaign, asked.phase_id if asked else None, Sort.RATIO
        ),
        by_category=_bars(breakdowns.category, formats, words.by_category, words.categories),
        by_author_type=_bars(
            breakdowns.author_type, formats, words.by_author_type, words.author_types
        ),
        notifications=[notification_line(decision, formats) for decision in decisions],
        follow_up=reminders[:FOLLOW_UP_SHOWN],
        follow_up_total=len(reminders),
    )


async def _chart(
    context: QueryContext,
    unit: Unit,
    campaign_id: str,
    phase: PhaseProgress | None,
    at: dt.datetime,
    formats: Formats,
) -> Markup | None:
    """The phase's running total from its first day; without a plan, the whole series."""
    local = at.astimezone(CAMPAIGN_ZONE)
    words = formats.words
    if phase is None:
        points = await series_of(context, unit, campaign_id, Metric.SUBMITTED, None, None)
        if not points:
            return None
        starts_on, ends_on, target = points[0].day, points[-1].day, None
        metric = Metric.SUBMITTED
    else:
        starts_on, ends_on, target, metric = (
            phase.starts_on,
            phase.ends_on,
            phase.target,
            phase.metric,
        )
        last = min(ends_on, local.date())
        points = (
            await series_of(context, unit, campaign_id, metric, starts_on, last)
            if starts_on <= last
            else []
        )
    # Running totals since the campaign began, less what came before the window.
    before = points[0].cumulative - points[0].value if points else 0
    name = words.whole_campaign if phase and phase.phase_id == WHOLE_CAMPAIGN else None
    title = f"{words.chart}: {name or (phase.name if phase else words.whole_campaign)}"
    return progress_chart(
        starts_on=starts_on,
        ends_on=ends_on,
        points=[(point.day, point.cumulative - before) for point in points],
        target=target,
        now=local,
        labels=ProgressLabels(
            title=title,
            value=words.metrics[metric.value],
            target=words.target,
            pace=words.pace,
            today=words.today,
            number=formats.number,
            month=formats.month,
        ),
    )


def _bars(
    entries: Sequence[Breakdown], formats: Formats, title: str, names: Mapping[str, str]
) -> Markup | None:
    if not entries:
        return None
    bars = [Bar(names.get(e.value, e.value), e.submitted, e.approved) for e in entries]
    return bar_chart(bars, title=title, number=formats.number)
