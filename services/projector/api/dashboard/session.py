"""Signing in to the dashboard: a browser cannot send a bearer token, so it keeps one in a cookie.

The sign-in form posts the token; it is checked against the same hashed ``TokenScopes`` as
the JSON API and kept in an HttpOnly, SameSite=Strict cookie (scripts cannot read it, other
sites cannot make the browser send it). Every page authorises the cookie's token anew, so a
token removed from the configuration stops working at the next click.
"""

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials

from shared.web.auth import Scope, TokenScopes

COOKIE = "initiatives_token"
MAX_FORM_BYTES = 8192
"""A sign-in form holds a token and two short fields; anything longer is not one."""


def _tokens(request: Request) -> TokenScopes:
    tokens: TokenScopes = request.app.state.tokens
    return tokens


def scope_of(request: Request, token: str | None) -> Scope:
    """The token's scope; 401 when it is missing or unknown."""
    credentials = (
        HTTPAuthorizationCredentials(scheme="Bearer", credentials=token) if token else None
    )
    return _tokens(request).authorize(credentials)


async def viewer(request: Request) -> Scope:
    """FastAPI dependency: the scope of the signed-in browser's token."""
    return scope_of(request, request.cookies.get(COOKIE))


Viewer = Annotated[Scope, Depends(viewer)]


async def form_fields(request: Request) -> dict[str, str]:
    """The urlencoded form's fields, the first value of each (no multipart parser needed)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "the form is too large")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


def local_path(target: str | None) -> str:
    """``target`` if it is a path on this site, else ``/``: no redirect elsewhere after sign-in."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return "/"


def keep_token(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


def forget_token(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
