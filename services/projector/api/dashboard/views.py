"""Rendering the dashboard's pages: one Jinja2 environment, autoescaped, and links that keep
the reader's language.

Pages answer every refusal as a page too (:class:`PageRoute`): a browser gets the sign-in
form for a 401 and a readable explanation for a 403 or 404, never a JSON error.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined

from services.projector.api.dashboard.i18n import LANGUAGES, Formats, Words, words
from services.projector.api.dashboard.session import COOKIE

ENVIRONMENT = Environment(
    loader=PackageLoader("services.projector.api.dashboard", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

SECURITY_HEADERS = {
    # No script runs on these pages, so none may; styles and charts are inline.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


@dataclass(frozen=True, slots=True)
class Links:
    """Addresses on the dashboard that carry the page's language along."""

    language: str

    def __call__(self, path: str, **params: str | None) -> str:
        query = {name: value for name, value in params.items() if value is not None}
        return f"{quote(path)}?{urlencode({**query, 'lang': self.language})}"


def language_of(request: Request) -> Words:
    return words(request.query_params.get("lang"))


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` in the request's language, with the words, formats and links it needs."""
    language = language_of(request)
    switch = [(other, _relative(request, lang=other.code)) for other in LANGUAGES.values()]
    body = ENVIRONMENT.get_template(template).render(
        t=language,
        f=Formats(language),
        href=Links(language.code),
        switch=switch,
        signed_in=COOKIE in request.cookies,
        **context,
    )
    return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)


def _relative(request: Request, **params: str) -> str:
    url = request.url.include_query_params(**params)
    return f"{url.path}?{url.query}"


def refusal(request: Request, error: HTTPException) -> Response:
    """A refused page as a page: the sign-in form where a token is missing, else the reason."""
    if error.status_code == status.HTTP_401_UNAUTHORIZED:
        return render(
            request,
            "sign_in.html",
            status_code=error.status_code,
            next=_relative(request) if request.method == "GET" else "/",
            unknown=False,
        )
    return render(
        request,
        "refused.html",
        status_code=error.status_code,
        code=error.status_code,
        detail=error.detail,
    )


class PageRoute(APIRoute):
    """A route whose ``HTTPException`` becomes a page (:func:`refusal`), not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_page(request: Request) -> Response:
            try:
                return await handle(request)
            except HTTPException as error:
                return refusal(request, error)

        return handle_as_page
