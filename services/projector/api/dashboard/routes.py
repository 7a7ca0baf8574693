"""The dashboard's addresses: the start page with the unit search, one page per unit, the
report downloads, and signing in and out.

Every page but sign-in needs the browser's token (``session``) and applies the JSON API's
scope rules: a unit outside the token's subtree is a 403 page, and search finds only
units inside it.
"""

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.projector.api.answers import (
    QueryContext,
    follow_up_of,
    query_context,
    report_download,
    scoped_unit,
)
from services.projector.api.dashboard.i18n import Formats
from services.projector.api.dashboard.page import unit_page
from services.projector.api.dashboard.session import (
    Viewer,
    forget_session,
    form_fields,
    local_path,
    scope_of,
    sessions,
)
from services.projector.api.dashboard.views import PageRoute, language_of, render
from shared.domain.campaign import CAMPAIGN_ZONE
from shared.text import fold_diacritics
from shared.web.parameters import PageNumber, within_campaign_years

Context = Annotated[QueryContext, Depends(query_context)]

dashboard_router = APIRouter(route_class=PageRoute, include_in_schema=False)

SEARCH_LIMIT = 20


@dashboard_router.get("/")
async def home(request: Request, context: Context, scope: Viewer, q: str = "") -> HTMLResponse:
    """The unit search; without a query, the units the token starts from."""
    within = None if scope.is_admin else scope.unit_id
    if q.strip():
        found = await context.read.search_units(
            fold_diacritics(q), scope=within, limit=SEARCH_LIMIT
        )
    elif within is None:
        found = await context.read.roots()
    else:
        found = [unit for unit in [await context.read.unit(within)] if unit is not None]
    return render(request, "home.html", q=q, units=found)


@dashboard_router.get("/sign-in")
async def sign_in_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "sign_in.html", next=local_path(next), unknown=False)


@dashboard_router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Keep a known token in the cookie and go on; an unknown one gets the form again."""
    sessions(request).same_site(request)
    fields = await form_fields(request)
    token, target = fields.get("token", "").strip(), local_path(fields.get("next"))
    try:
        scope_of(request, token)
    except HTTPException:
        return render(
            request,
            "sign_in.html",
            status_code=status.HTTP_401_UNAUTHORIZED,
            next=target,
            unknown=True,
        )
    response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    sessions(request).keep(response, request, token)
    return response


@dashboard_router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    sessions(request).same_site(request)
    response = RedirectResponse(
        f"/sign-in?lang={language_of(request).code}", status_code=status.HTTP_303_SEE_OTHER
    )
    forget_session(response)
    return response


AS_OF_PATTERNS = ("%d/%m/%Y %H:%M", "%d/%m/%Y")
"""What the page's "as of" field takes: a local day and time, or a day alone (its end)."""


def parse_as_of(text: str | None) -> dt.datetime | None:
    """An instant from the page's field (dd/mm/yyyy [hh:mm], local time, whatever the
    browser's locale) or an address's ISO instant (with an offset, else local).

    Raises ``HTTPException`` (422) for anything else, or a year outside 2000–2100.
    """
    text = (text or "").strip()
    if not text:
        return None
    try:
        return within_campaign_years(_moment(text))
    except ValueError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"as_of {text[:40]!r} is not a day and time dd/mm/yyyy hh:mm "
            "(or an ISO instant) between 2000 and 2100",
        ) from error


def _moment(text: str) -> dt.datetime:
    for pattern in AS_OF_PATTERNS:
        try:
            moment = dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
        if pattern == "%d/%m/%Y":
            moment = dt.datetime.combine(moment.date(), dt.time.max)
        return moment.replace(tzinfo=CAMPAIGN_ZONE)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=CAMPAIGN_ZONE)


@dashboard_router.get("/units/{unit_id}")
async def unit(
    request: Request,
    context: Context,
    scope: Viewer,
    unit_id: str,
    campaign: str | None = None,
    phase: str | None = None,
    as_of: str | None = None,
) -> HTMLResponse:
    """The unit's page; an "as of" it cannot read shows the current figures and, beside the
    field, what it expects (422), so the reader can correct it."""
    placed = await scoped_unit(context, scope, unit_id)
    try:
        moment, invalid = parse_as_of(as_of), None
    except HTTPException:
        moment, invalid = None, as_of
    page = await unit_page(
        context,
        scope,
        placed,
        Formats(language_of(request)),
        campaign_id=campaign,
        phase_id=phase,
        as_of=moment,
    )
    return render(
        request,
        "unit.html",
        status_code=status.HTTP_200_OK
        if invalid is None
        else status.HTTP_422_UNPROCESSABLE_CONTENT,
        page=page,
        phase_asked=phase,
        as_of_invalid=invalid,
    )


@dashboard_router.get("/units/{unit_id}/follow-up")
async def follow_up(
    request: Request,
    context: Context,
    scope: Viewer,
    unit_id: str,
    campaign: str,
    phase: str | None = None,
    page: PageNumber = 1,
) -> HTMLResponse:
    """The whole follow-up list of the JSON API, page by page, for the unit page's link."""
    shown = (await scoped_unit(context, scope, unit_id)).unit
    answer = await follow_up_of(context, shown, campaign, phase, page)
    names = await context.read.campaign_names([campaign])
    return render(
        request,
        "follow_up.html",
        answer=answer,
        campaign_name=names[campaign],
        phase_asked=phase,
    )


@dashboard_router.get("/units/{unit_id}/report.{kind}")
async def report(
    context: Context,
    scope: Viewer,
    unit_id: str,
    kind: Literal["csv", "xlsx"],
    campaign: str,
    as_of: str | None = None,
) -> Response:
    """The JSON API's printed report, for a browser signed in with its cookie; ``as_of`` as
    the unit's page takes it."""
    moment = parse_as_of(as_of)
    shown = (await scoped_unit(context, scope, unit_id)).unit
    return await report_download(context, shown, campaign, kind, moment)
