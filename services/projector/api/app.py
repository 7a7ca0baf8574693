"""The query API: progress, rankings, series, breakdowns, initiatives and printed reports,
and the dashboard's pages for people (``services.projector.api.dashboard``) at ``/``.

Everything is read from the projector's read models; a request names a unit, and its
bearer token must cover that unit (``shared.web.auth``). Statuses are judged at the
injected clock's "now", or at the instant asked for, so tests and "as of" answers are exact.

No ``from __future__ import annotations``: FastAPI evaluates the endpoints' annotations.
"""

import datetime as dt
import secrets
from collections.abc import Hashable, Iterable, Sequence
from importlib.metadata import version
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Response
from fastapi import status as http
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import Scope as Request

from services.projector.api import reports
from services.projector.api.answers import (
    QueryContext,
    breakdowns_of,
    children_of,
    follow_up_of,
    progress_of,
    query_context,
    report_download,
    scoped_unit,
    series_of,
)
from services.projector.api.dashboard import dashboard_router
from services.projector.api.dashboard.session import Sessions
from services.projector.api.models import (
    Breakdowns,
    Children,
    FollowUp,
    InitiativesPage,
    Progress,
    Timeseries,
    UnitsFound,
)
from services.projector.api.queries import Placed, ReadModels
from services.projector.api.settings import QueryApiSettings
from services.projector.api.status import Sort
from shared.clock import Clock
from shared.contracts.campaigns import Metric
from shared.domain.initiative import InitiativeStatus
from shared.text import fold_diacritics
from shared.web.auth import TokenScope, TokenScopes
from shared.web.body_limit import BodyLimit
from shared.web.parameters import Instant, PageNumber
from shared.web.shared_answers import Key, SharedAnswers

Context = Annotated[QueryContext, Depends(query_context)]


async def _placed(unit_id: str, context: Context, scope: TokenScope) -> Placed:
    return await scoped_unit(context, scope, unit_id)


ScopedPlaced = Annotated[Placed, Depends(_placed)]


async def _campaign(
    placed: ScopedPlaced,
    campaign_id: Annotated[
        str | None, Query(description="Optional when the unit takes part in one campaign only")
    ] = None,
) -> str:
    if campaign_id is not None:
        return campaign_id
    unit, campaigns = placed
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


router = APIRouter(
    prefix="/v1",
    responses={
        401: {"description": "Missing or unknown access token"},
        403: {"description": "The unit is outside the token's scope"},
        404: {"description": "Unknown unit, or no plan in the campaign"},
        422: {"description": "Invalid parameters, or campaign_id needed: several campaigns"},
    },
)


Include = Annotated[
    Literal["predecessors"] | None,
    Query(
        description="'predecessors': the restated view, adding to each unit the initiatives "
        "of the units merged into it, each once, in its own phases (without it every unit "
        "shows its own figures, merged and closed units included)"
    ),
]


ReportAsOf = Annotated[
    Instant | None,
    Query(
        description="The unit's figures, targets and statuses at this instant, as /progress "
        "answers them (it needs a UTC offset); the children's figures stay current"
    ),
]


@router.get("/units", summary="Find units by name, with or without diacritics")
async def search_units(
    context: Context,
    scope: TokenScope,
    q: Annotated[str, Query(description="Part of the name: 'ba che' finds 'Ba Chẽ'")] = "",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> UnitsFound:
    within = None if scope.is_admin else scope.unit_id
    return UnitsFound(
        items=await context.read.search_units(fold_diacritics(q), scope=within, limit=limit)
    )


@router.get("/units/{unit_id}/progress", summary="Progress per phase and for the whole campaign")
async def progress(
    context: Context,
    placed: ScopedPlaced,
    campaign_id: Campaign,
    as_of: Annotated[
        Instant | None,
        Query(description="Exact figures at this instant; it needs a UTC offset"),
    ] = None,
    include: Include = None,
) -> Progress:
    return await progress_of(
        context, placed.unit, campaign_id, as_of, restated=include == "predecessors"
    )


@router.get("/units/{unit_id}/children", summary="Ranking of the open child units")
async def children(
    context: Context,
    placed: ScopedPlaced,
    campaign_id: Campaign,
    phase_id: Annotated[
        str | None,
        Query(description="'' for the whole campaign; default: each child's current phase"),
    ] = None,
    sort: Sort = Sort.RATIO,
    include: Include = None,
) -> Children:
    return await children_of(
        context, placed.unit, campaign_id, phase_id, sort, restated=include == "predecessors"
    )


@router.get(
    "/units/{unit_id}/follow-up",
    summary="Units below to follow up (đôn đốc): nothing submitted yet, or at risk",
    description="Every open unit below this one (all levels) with a target in a phase "
    "running now that has no submission in it yet (reason no_submission), or is at risk "
    "(reason at_risk); no submission first, then at risk by ratio ascending, then by name. "
    "Figures are current; page_size (INITIATIVES_API_PAGE_SIZE) per page.",
)
async def follow_up(
    context: Context,
    placed: ScopedPlaced,
    campaign_id: Campaign,
    phase_id: Annotated[
        str | None,
        Query(
            description="One phase (listed only while it runs); default: each unit's "
            "phase running now"
        ),
    ] = None,
    page: PageNumber = 1,
) -> FollowUp:
    return await follow_up_of(context, placed.unit, campaign_id, phase_id, page)


@router.get("/units/{unit_id}/timeseries", summary="Daily net change and running total")
async def timeseries(
    context: Context,
    placed: ScopedPlaced,
    campaign_id: Campaign,
    metric: Metric = Metric.SUBMITTED,
    from_: Annotated[dt.date | None, Query(alias="from", description="First local day")] = None,
    to: Annotated[dt.date | None, Query(description="Last local day")] = None,
) -> Timeseries:
    points = await series_of(context, placed.unit, campaign_id, metric, from_, to)
    return Timeseries(unit=placed.unit, campaign_id=campaign_id, metric=metric, points=points)


@router.get("/units/{unit_id}/breakdowns", summary="Totals by category, author and solution type")
async def breakdowns(context: Context, placed: ScopedPlaced, campaign_id: Campaign) -> Breakdowns:
    return await breakdowns_of(context, placed.unit, campaign_id)


@router.get("/units/{unit_id}/initiatives", summary="Initiatives of the subtree, newest first")
async def initiatives(
    context: Context,
    placed: ScopedPlaced,
    q: Annotated[str, Query(description="Part of the title, with or without diacritics")] = "",
    status: InitiativeStatus | None = None,
    campaign_id: str | None = None,
    page: PageNumber = 1,
) -> InitiativesPage:
    size = context.settings.page_size
    total, items = await context.read.initiatives(
        placed.unit.unit_id,
        campaign_id=campaign_id,
        folded_title=fold_diacritics(q),
        status=status,
        offset=(page - 1) * size,
        limit=size,
    )
    return InitiativesPage(unit=placed.unit, page=page, page_size=size, total=total, items=items)


@router.get(
    "/units/{unit_id}/report.csv",
    summary="The printable progress report as CSV (UTF-8)",
    response_class=Response,
    responses={200: {"content": {reports.CSV_TYPE: {}}}},
)
async def report_csv(
    context: Context,
    placed: ScopedPlaced,
    campaign_id: Campaign,
    as_of: ReportAsOf = None,
    include: Include = None,
) -> Response:
    return await report_download(
        context, placed.unit, campaign_id, "csv", as_of, restated=include == "predecessors"
    )


@router.get(
    "/units/{unit_id}/report.xlsx",
    summary="The printable progress report as an Excel workbook",
    response_class=Response,
    responses={200: {"content": {reports.XLSX_TYPE: {}}}},
)
async def report_xlsx(
    context: Context,
    placed: ScopedPlaced,
    campaign_id: Campaign,
    as_of: ReportAsOf = None,
    include: Include = None,
) -> Response:
    return await report_download(
        context, placed.unit, campaign_id, "xlsx", as_of, restated=include == "predecessors"
    )


def _answer_key(tokens: TokenScopes) -> Key:
    """A unit's figures are shared between requests of tokens with the same scope; anything
    else (search, the dashboard's pages, other services' routes) is never shared."""

    def key(request: Request) -> Hashable | None:
        if request["method"] != "GET" or not request["path"].startswith(f"{router.prefix}/units/"):
            return None
        for name, value in request["headers"]:
            if name == b"authorization":
                kind, _, token = value.decode("latin-1").partition(" ")
                scope = tokens.scope_of(token) if kind.lower() == "bearer" else None
                return (
                    None
                    if scope is None
                    else (scope.unit_id, request["path"], request["query_string"])
                )
        return None

    return key


def create_query_app(
    engine: AsyncEngine,
    settings: QueryApiSettings,
    *,
    clock: Clock,
    extra_routers: Iterable[APIRouter] = (),
    body_limit_exempt: Sequence[str] = (),
) -> FastAPI:
    """The query API and the dashboard over ``engine``'s read models; ``extra_routers`` add
    e.g. ops endpoints; ``body_limit_exempt`` names mounts that limit bodies themselves."""
    app = FastAPI(
        title="initiatives query API",
        version=version("initiatives"),
        description="Progress of the '1 triệu sáng kiến' campaign per unit and phase. "
        "Read models: docs/read-models.md; endpoints: docs/query-api.md.",
        docs_url="/docs",
    )
    app.state.tokens = TokenScopes(settings.tokens, realm="initiatives-query")
    read = ReadModels(engine)
    app.add_middleware(
        SharedAnswers,
        seconds=settings.shared_answer_seconds,
        key=_answer_key(app.state.tokens),
        revision=read.revision,
        unchanged_seconds=settings.unchanged_answer_seconds,
    )
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes, exempt=body_limit_exempt)
    key = settings.session_key
    app.state.sessions = Sessions(
        key.get_secret_value().encode() if key else secrets.token_bytes(32),
        dt.timedelta(hours=settings.session_hours),
        secure=settings.cookie_secure,
        trusted_origins=settings.trusted_origins,
        clock=clock,
    )
    app.state.query = QueryContext(read, clock, settings)
    for extra in extra_routers:
        app.include_router(extra)
    app.include_router(router)
    app.include_router(dashboard_router)
    return app
