"""The query API's answers as plain functions, so the JSON endpoints and the dashboard's pages
compute every figure the same way from the same read models.

An answer that cannot be given (no plan, a bad range) raises ``HTTPException``: both callers
are FastAPI routes, and the message is what the caller must change.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from fastapi import HTTPException, Request, Response
from fastapi import status as http

from services.projector.api import reports
from services.projector.api.follow_up import follow_up
from services.projector.api.models import (
    Breakdowns,
    ChildProgress,
    Children,
    ClusterRanking,
    FollowUp,
    Participation,
    PhaseProgress,
    Point,
    Progress,
    daily_points,
)
from services.projector.api.queries import Breakdown, Placed, ReadModels, Unit
from services.projector.api.settings import QueryApiSettings
from services.projector.api.status import Sort, current_phase, ranked, ranked_phase
from services.projector.schema import WHOLE_CAMPAIGN
from shared.clock import Clock
from shared.contracts.campaigns import Metric
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.web.auth import Scope, outside_scope

MAX_SERIES_DAYS = 3700
"""About ten years of daily points: far beyond any campaign, short of a runaway request."""

ReportFormat = Literal["csv", "xlsx"]


@dataclass(frozen=True, slots=True)
class QueryContext:
    """What the answers need, kept on ``app.state`` so several apps can coexist in tests."""

    read: ReadModels
    clock: Clock
    settings: QueryApiSettings


async def query_context(request: Request) -> QueryContext:
    context: QueryContext = request.app.state.query
    return context


async def scoped_unit(context: QueryContext, scope: Scope, unit_id: str) -> Placed:
    """The unit asked for and its campaigns, once the token's scope is known to cover it.

    Scope comes first, so a token cannot even learn whether a unit outside it exists.
    """
    if not await context.read.covers(scope, unit_id):
        raise outside_scope(scope, unit_id)
    placed = await context.read.placed(unit_id)
    if placed is None:
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"unit {unit_id!r} is not known")
    return placed


async def planned_progress(
    context: QueryContext,
    unit: Unit,
    campaign_id: str,
    as_of: dt.datetime | None,
    *,
    restated: bool = False,
) -> Progress | None:
    """The unit's phases and whole campaign, judged now or at ``as_of``, ``restated`` with
    its predecessors' initiatives; None without a plan."""
    at = as_of or context.clock()
    predecessors = await context.read.predecessors(unit.unit_id) if restated else []
    figures = await context.read.phases(
        unit.unit_id, campaign_id, as_of=as_of, predecessors=predecessors
    )
    if not figures:
        return None
    judged = [PhaseProgress.judge(f, at=at) for f in figures]
    return Progress(
        unit=unit,
        campaign_id=campaign_id,
        as_of=as_of,
        evaluated_at=at,
        predecessors=predecessors,
        phases=[p for p in judged if p.phase_id != WHOLE_CAMPAIGN],
        total=next((p for p in judged if p.phase_id == WHOLE_CAMPAIGN), None),
    )


async def progress_of(
    context: QueryContext,
    unit: Unit,
    campaign_id: str,
    as_of: dt.datetime | None,
    *,
    restated: bool = False,
) -> Progress:
    """:func:`planned_progress`, a 404 without a plan."""
    progress = await planned_progress(context, unit, campaign_id, as_of, restated=restated)
    if progress is None:
        raise HTTPException(
            http.HTTP_404_NOT_FOUND,
            f"unit {unit.unit_id!r} has no plan in campaign {campaign_id!r}",
        )
    return progress


async def children_of(
    context: QueryContext,
    unit: Unit,
    campaign_id: str,
    phase_id: str | None,
    sort: Sort,
    *,
    restated: bool = False,
) -> Children:
    """The open children ranked in ``phase_id``, or each in its own current phase (None);
    ``restated``: each child with the initiatives of the units merged into it.

    Children may follow plans of their own with other phases, so the phase is decided per
    child (:func:`ranked_phase`); a child without any plan still shows its subtree's
    submissions over the whole campaign, so it never looks idle when it is not.
    """
    now = context.clock()
    today = now.astimezone(CAMPAIGN_ZONE).date()
    figured = await context.read.children_figures(unit.unit_id, campaign_id)
    phases = {child.unit_id: figures for child, figures in figured}
    unplanned_ids = [child.unit_id for child, figures in figured if not figures]
    unplanned = {}
    if unplanned_ids:  # children without a plan are few, often none: then nothing to read
        unplanned = await context.read.campaign_counts(unplanned_ids, campaign_id)
    if restated:
        for child, _ in figured:
            if predecessors := await context.read.predecessors(child.unit_id):
                phases[child.unit_id] = await context.read.phases(
                    child.unit_id, campaign_id, predecessors=predecessors
                )
    entries = []
    for child, _ in figured:
        chosen = ranked_phase(phases[child.unit_id], phase_id, today)
        entries.append(
            ChildProgress.without_plan(child, unplanned.get(child.unit_id, {}))
            if chosen is None
            else ChildProgress.of(child, chosen, at=now)
        )
    clusters: defaultdict[str, list[ChildProgress]] = defaultdict(list)
    for entry in entries:
        if entry.cluster is not None:
            clusters[entry.cluster].append(entry)
    cluster_rankings = [
        ClusterRanking(
            cluster=name,
            ranking=[
                entry.model_copy(update={"rank": rank}) for rank, entry in _ranks(members, sort)
            ],
        )
        for name, members in sorted(clusters.items())
    ]
    return Children(
        unit=unit,
        campaign_id=campaign_id,
        phase_id=phase_id,
        ranking=_numbered(entries, sort),
        clusters=cluster_rankings,
    )


def _ranks(entries: list[ChildProgress], sort: Sort) -> enumerate[ChildProgress]:
    return enumerate(ranked(entries, sort), start=1)


def _numbered(entries: list[ChildProgress], sort: Sort) -> list[ChildProgress]:
    """The entries ranked, each numbered in place: built for this answer alone, and the
    clusters' rankings took copies first (a copy of each costs as much as judging it)."""
    ranking = []
    for rank, entry in _ranks(entries, sort):
        entry.rank = rank
        ranking.append(entry)
    return ranking


async def follow_up_of(
    context: QueryContext, unit: Unit, campaign_id: str, phase_id: str | None, page: int
) -> FollowUp:
    """One page of the unit's follow-up list (:func:`follow_up`), judged now."""
    now = context.clock()
    entries = await follow_up(context.read, unit.unit_id, campaign_id, now, phase_id)
    size = context.settings.page_size
    return FollowUp(
        unit=unit,
        campaign_id=campaign_id,
        phase_id=phase_id,
        evaluated_at=now,
        page=page,
        page_size=size,
        total=len(entries),
        items=entries[(page - 1) * size : page * size],
    )


async def series_of(
    context: QueryContext,
    unit: Unit,
    campaign_id: str,
    metric: Metric,
    start: dt.date | None,
    end: dt.date | None,
) -> list[Point]:
    """Daily points from ``start`` (default: the first change) to ``end`` (default: the last)."""
    changes = await context.read.series(unit.unit_id, campaign_id, metric, end)
    start = start or (changes[0][0] if changes else None)
    end = end or (changes[-1][0] if changes else None)
    if start is None or end is None:
        return []
    if not 0 <= (end - start).days <= MAX_SERIES_DAYS:
        raise HTTPException(
            http.HTTP_422_UNPROCESSABLE_CONTENT,
            f"'from' must not be after 'to', and at most {MAX_SERIES_DAYS} days per request",
        )
    return daily_points(changes, start, end)


async def breakdowns_of(context: QueryContext, unit: Unit, campaign_id: str) -> Breakdowns:
    by_dimension: defaultdict[str, list[Breakdown]] = defaultdict(list)
    for entry in await context.read.breakdowns(unit.unit_id, campaign_id):
        by_dimension[entry.dimension].append(entry)
    took_part = await context.read.participation(unit.unit_id, campaign_id)
    return Breakdowns(
        unit=unit,
        campaign_id=campaign_id,
        participation=None
        if took_part is None
        else Participation(initiatives=took_part[0], authors=took_part[1]),
        category=by_dimension["category"],
        author_type=by_dimension["author_type"],
        solution_type=by_dimension["solution_type"],
    )


async def report_download(
    context: QueryContext,
    unit: Unit,
    campaign_id: str,
    kind: ReportFormat,
    as_of: dt.datetime | None = None,
    *,
    restated: bool = False,
) -> Response:
    """The printed report as a file to save: the unit's figures now or at ``as_of``, as
    :func:`progress_of` answers them, and its children (current figures) ranked in the phase
    running at that instant; ``restated``: with their predecessors' initiatives."""
    now = context.clock()
    summary = await progress_of(context, unit, campaign_id, as_of, restated=restated)
    phases = [*summary.phases, *([summary.total] if summary.total else [])]
    current = current_phase(phases, summary.evaluated_at.astimezone(CAMPAIGN_ZONE).date())
    ranking = await children_of(
        context,
        unit,
        campaign_id,
        current.phase_id if current else None,
        Sort.RATIO,
        restated=restated,
    )
    names = await context.read.campaign_names([campaign_id])
    rows = reports.report_rows(summary, ranking, names[campaign_id], now)
    body, media_type = (
        (reports.to_csv(rows), reports.CSV_TYPE)
        if kind == "csv"
        else (reports.to_xlsx(rows), reports.XLSX_TYPE)
    )
    disposition = f'attachment; filename="report-{unit.unit_id}.{kind}"'
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})
