"""The query API: progress, rankings, series, breakdowns, initiatives and printed reports.

Everything is read from the projector's read models; a request names a unit, and its
bearer token must cover that unit (``shared.web.auth``). Statuses are judged at the
injected clock's "now", or at the instant asked for, so tests and "as of" answers are exact.

No ``from __future__ import annotations``: FastAPI evaluates the endpoints' annotations.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import version
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi import status as http
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncEngine

from services.projector.api import reports
from services.projector.api.models import (
    Breakdowns,
    ChildProgress,
    Children,
    ClusterRanking,
    InitiativesPage,
    PhaseProgress,
    Progress,
    Timeseries,
    UnitsFound,
    daily_points,
)
from services.projector.api.queries import Breakdown, PhaseFigures, ReadModels, Unit
from services.projector.api.settings import QueryApiSettings
from services.projector.api.status import CAMPAIGN_ZONE, Sort, current_phase, ranked
from services.projector.deltas import WHOLE_CAMPAIGN
from shared.contracts.campaigns import Metric
from shared.domain.initiative import InitiativeStatus
from shared.text import fold
from shared.web.auth import TokenScope, TokenScopes, outside_scope

Clock = Callable[[], dt.datetime]

MAX_SERIES_DAYS = 3700
"""About ten years of daily points: far beyond any campaign, short of a runaway request."""


@dataclass(frozen=True, slots=True)
class QueryContext:
    """What the endpoints need, kept on ``app.state`` so several apps can coexist in tests."""

    read: ReadModels
    clock: Clock
    settings: QueryApiSettings


def _context(request: Request) -> QueryContext:
    context: QueryContext = request.app.state.query
    return context


Context = Annotated[QueryContext, Depends(_context)]


async def _scoped_unit(unit_id: str, context: Context, scope: TokenScope) -> Unit:
    """The unit asked for, once the token's scope is known to cover it.

    Scope comes first, so a token cannot even learn whether a unit outside it exists.
    """
    if not await context.read.covers(scope, unit_id):
        raise outside_scope(scope, unit_id)
    unit = await context.read.unit(unit_id)
    if unit is None:
        raise HTTPException(http.HTTP_404_NOT_FOUND, f"unit {unit_id!r} is not known")
    return unit


ScopedUnit = Annotated[Unit, Depends(_scoped_unit)]


async def _campaign(
    context: Context,
    unit: ScopedUnit,
    campaign_id: Annotated[
        str | None, Query(description="Optional when the unit takes part in one campaign only")
    ] = None,
) -> str:
    if campaign_id is not None:
        return campaign_id
    campaigns = await context.read.campaigns(unit.unit_id)
    if not campaigns:
        raise HTTPException(
            http.HTTP_404_NOT_FOUND,
            f"unit {unit.unit_id!r} has no plan and no initiative in any campaign",
        )
    if len(campaigns) > 1:
        raise HTTPException(
            http.HTTP_422_UNPROCESSABLE_CONTENT,
            f"unit {unit.unit_id!r} has plans in campaigns {', '.join(campaigns)}: "
            "say which with campaign_id",
        )
    return campaigns[0]


Campaign = Annotated[str, Depends(_campaign)]


async def progress_of(
    context: QueryContext, unit: Unit, campaign_id: str, as_of: dt.datetime | None
) -> Progress:
    """The unit's phases and whole campaign, judged now or at ``as_of``."""
    at = as_of or context.clock()
    figures = await context.read.phases(unit.unit_id, campaign_id, as_of=as_of)
    if not figures:
        raise HTTPException(
            http.HTTP_404_NOT_FOUND,
            f"unit {unit.unit_id!r} has no plan in campaign {campaign_id!r}",
        )
    tolerance = context.settings.at_risk_tolerance
    judged = [PhaseProgress.judge(f, at=at, tolerance=tolerance) for f in figures]
    return Progress(
        unit=unit,
        campaign_id=campaign_id,
        as_of=as_of,
        evaluated_at=at,
        phases=[p for p in judged if p.phase_id != WHOLE_CAMPAIGN],
        total=next((p for p in judged if p.phase_id == WHOLE_CAMPAIGN), None),
    )


async def children_of(
    context: QueryContext, unit: Unit, campaign_id: str, phase_id: str | None, sort: Sort
) -> Children:
    """The open children ranked in ``phase_id``, or each in its own current phase (None).

    Children may follow plans of their own with other phases, so "current" is decided per
    child: the phase containing today, else its whole campaign.
    """
    now = context.clock()
    today = now.astimezone(CAMPAIGN_ZONE).date()
    tolerance = context.settings.at_risk_tolerance
    phases: defaultdict[str, list[PhaseFigures]] = defaultdict(list)
    for figures in await context.read.children_phases(unit.unit_id, campaign_id):
        phases[figures.unit_id].append(figures)
    entries = []
    for child in await context.read.children(unit.unit_id):
        rows = phases[child.unit_id]
        chosen = (
            current_phase(rows, today)
            if phase_id is None
            else next((row for row in rows if row.phase_id == phase_id), None)
        )
        judged = (
            None if chosen is None else PhaseProgress.judge(chosen, at=now, tolerance=tolerance)
        )
        entries.append(ChildProgress.of(child, judged))
    clusters: defaultdict[str, list[ChildProgress]] = defaultdict(list)
    for entry in entries:
        if entry.cluster is not None:
            clusters[entry.cluster].append(entry)
    return Children(
        unit=unit,
        campaign_id=campaign_id,
        phase_id=phase_id,
        ranking=_ranks(entries, sort),
        clusters=[
            ClusterRanking(cluster=name, ranking=_ranks(members, sort))
            for name, members in sorted(clusters.items())
        ],
    )


def _ranks(entries: list[ChildProgress], sort: Sort) -> list[ChildProgress]:
    return [
        entry.model_copy(update={"rank": rank})
        for rank, entry in enumerate(ranked(entries, sort), start=1)
    ]


router = APIRouter(
    prefix="/v1",
    responses={
        401: {"description": "Missing or unknown access token"},
        403: {"description": "The unit is outside the token's scope"},
        404: {"description": "Unknown unit, or no plan in the campaign"},
        422: {"description": "Invalid parameters, or campaign_id needed: several campaigns"},
    },
)


@router.get("/units", summary="Find units by name, with or without diacritics")
async def search_units(
    context: Context,
    scope: TokenScope,
    q: Annotated[str, Query(description="Part of the name: 'ba che' finds 'Ba Chẽ'")] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> UnitsFound:
    within = None if scope.is_admin else scope.unit_id
    return UnitsFound(items=await context.read.search_units(fold(q), scope=within, limit=limit))


@router.get("/units/{unit_id}/progress", summary="Progress per phase and for the whole campaign")
async def progress(
    context: Context,
    unit: ScopedUnit,
    campaign_id: Campaign,
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="Exact figures at this instant; it needs a UTC offset"),
    ] = None,
) -> Progress:
    return await progress_of(context, unit, campaign_id, as_of)


@router.get("/units/{unit_id}/children", summary="Ranking of the open child units")
async def children(
    context: Context,
    unit: ScopedUnit,
    campaign_id: Campaign,
    phase_id: Annotated[
        str | None,
        Query(description="'' for the whole campaign; default: each child's current phase"),
    ] = None,
    sort: Sort = Sort.RATIO,
) -> Children:
    return await children_of(context, unit, campaign_id, phase_id, sort)


@router.get("/units/{unit_id}/timeseries", summary="Daily net change and running total")
async def timeseries(
    context: Context,
    unit: ScopedUnit,
    campaign_id: Campaign,
    metric: Metric = Metric.SUBMITTED,
    from_: Annotated[dt.date | None, Query(alias="from", description="First local day")] = None,
    to: Annotated[dt.date | None, Query(description="Last local day")] = None,
) -> Timeseries:
    changes = await context.read.series(unit.unit_id, campaign_id, metric, to)
    start = from_ or (changes[0][0] if changes else None)
    end = to or (changes[-1][0] if changes else None)
    if start is None or end is None:
        points = []
    elif not 0 <= (end - start).days <= MAX_SERIES_DAYS:
        raise HTTPException(
            http.HTTP_422_UNPROCESSABLE_CONTENT,
            f"'from' must not be after 'to', and at most {MAX_SERIES_DAYS} days per request",
        )
    else:
        points = daily_points(changes, start, end)
    return Timeseries(unit=unit, campaign_id=campaign_id, metric=metric, points=points)


@router.get("/units/{unit_id}/breakdowns", summary="Totals by category, author and solution type")
async def breakdowns(context: Context, unit: ScopedUnit, campaign_id: Campaign) -> Breakdowns:
    by_dimension: defaultdict[str, list[Breakdown]] = defaultdict(list)
    for entry in await context.read.breakdowns(unit.unit_id, campaign_id):
        by_dimension[entry.dimension].append(entry)
    return Breakdowns(
        unit=unit,
        campaign_id=campaign_id,
        category=by_dimension["category"],
        author_type=by_dimension["author_type"],
        solution_type=by_dimension["solution_type"],
    )


@router.get("/units/{unit_id}/initiatives", summary="Initiatives of the subtree, newest first")
async def initiatives(
    context: Context,
    unit: ScopedUnit,
    q: Annotated[str, Query(description="Part of the title, with or without diacritics")] = "",
    status: InitiativeStatus | None = None,
    campaign_id: str | None = None,
    page: Annotated[int, Query(ge=1)] = 1,
) -> InitiativesPage:
    size = context.settings.page_size
    total, items = await context.read.initiatives(
        unit.unit_id,
        campaign_id=campaign_id,
        folded_title=fold(q),
        status=status,
        offset=(page - 1) * size,
        limit=size,
    )
    return InitiativesPage(unit=unit, page=page, page_size=size, total=total, items=items)


async def _report(context: QueryContext, unit: Unit, campaign_id: str) -> list[reports.Row]:
    """The report's rows: children are ranked in the unit's own current phase, as headed."""
    now = context.clock()
    summary = await progress_of(context, unit, campaign_id, None)
    phases = [*summary.phases, *([summary.total] if summary.total else [])]
    current = current_phase(phases, now.astimezone(CAMPAIGN_ZONE).date())
    ranking = await children_of(
        context, unit, campaign_id, current.phase_id if current else None, Sort.RATIO
    )
    return reports.report_rows(summary, ranking, now)


def _download(body: bytes, media_type: str, filename: str) -> Response:
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=disposition)


@router.get(
    "/units/{unit_id}/report.csv",
    summary="The printable progress report as CSV (UTF-8)",
    response_class=Response,
    responses={200: {"content": {reports.CSV_TYPE: {}}}},
)
async def report_csv(context: Context, unit: ScopedUnit, campaign_id: Campaign) -> Response:
    body = reports.to_csv(await _report(context, unit, campaign_id))
    return _download(body, reports.CSV_TYPE, f"report-{unit.unit_id}.csv")


@router.get(
    "/units/{unit_id}/report.xlsx",
    summary="The printable progress report as an Excel workbook",
    response_class=Response,
    responses={200: {"content": {reports.XLSX_TYPE: {}}}},
)
async def report_xlsx(context: Context, unit: ScopedUnit, campaign_id: Campaign) -> Response:
    body = reports.to_xlsx(await _report(context, unit, campaign_id))
    return _download(body, reports.XLSX_TYPE, f"report-{unit.unit_id}.xlsx")


def create_query_app(
    engine: AsyncEngine,
    settings: QueryApiSettings,
    *,
    clock: Clock,
    extra_routers: Iterable[APIRouter] = (),
) -> FastAPI:
    """The query API over ``engine``'s read models; ``extra_routers`` add e.g. ops endpoints."""
    app = FastAPI(
        title="initiatives query API",
        version=version("initiatives"),
        description="Progress of the '1 triệu sáng kiến' campaign per unit and phase. "
        "Read models: docs/read-models.md; endpoints: docs/query-api.md.",
        docs_url="/docs",
    )
    app.state.tokens = TokenScopes(settings.tokens, realm="initiatives-query")
    app.state.query = QueryContext(ReadModels(engine), clock, settings)
    for extra in extra_routers:
        app.include_router(extra)
    app.include_router(router)
    return app
