"""Signing in to the dashboard: a browser cannot send a bearer token, so it keeps a session.

The sign-in form posts the token; it is checked against the same hashed ``TokenScopes`` as
the JSON API. The cookie then holds neither the token nor anything that works without this
deployment's session key: the token's hash, an expiry, and an HMAC over both
(``Sessions``). It is HttpOnly and SameSite=Strict, and ``Secure`` when the site is served
over https (``INITIATIVES_API_COOKIE_SECURE`` says so behind a TLS proxy). Every page
authorises the hash anew, so a token removed from the configuration stops working at the
next click. Forms are only taken from this site's own pages (``same_site``): a login or
logout posted from elsewhere is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from fastapi import Depends, HTTPException, Request, Response, status

from shared.clock import Clock
from shared.web.auth import Scope, TokenScopes
from shared.web.secrets import hash_secret

COOKIE = "initiatives_session"
MAX_FORM_BYTES = 8192
"""A sign-in form holds a token and two short fields; anything longer is not one."""


class Sessions:
    def __init__(
        self,
        key: bytes,
        lifetime: dt.timedelta,
        *,
        secure: bool | None,
        trusted_origins: Sequence[str],
        clock: Clock,
    ) -> None:
        """``secure``: the cookie's Secure flag, or ``None`` to follow the request's scheme;
        ``trusted_origins``: other origins (``https://host``) whose forms are accepted."""
        self._key = key
        self._lifetime = lifetime
        self._secure = secure
        self._trusted = {urlsplit(origin).netloc.lower() for origin in trusted_origins}
        self._clock = clock

    def _mac(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def issue(self, token: str) -> str:
        expires = int((self._clock() + self._lifetime).timestamp())
        payload = f"{hash_secret(token)}.{expires}"
        return f"{payload}.{self._mac(payload)}"

    def digest_of(self, cookie: str | None) -> str | None:
        """The token hash a valid, unexpired session cookie holds."""
        digest, _, rest = (cookie or "").partition(".")
        expires, _, mac = rest.partition(".")
        if not (digest and expires.isdigit() and mac):
            return None
        if not hmac.compare_digest(mac, self._mac(f"{digest}.{expires}")):
            return None
        return digest if int(expires) > self._clock().timestamp() else None

    def keep(self, response: Response, request: Request, token: str) -> None:
        response.set_cookie(
            COOKIE,
            self.issue(token),
            max_age=int(self._lifetime.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https" if self._secure is None else self._secure,
            path="/",
        )

    def same_site(self, request: Request) -> None:
        """Refuse a form posted from another site (login CSRF): the browser's ``Origin`` (or,
        without one, ``Referer``) must name this host or a trusted origin."""
        sent = request.headers.get("origin") or request.headers.get("referer") or ""
        host = urlsplit(sent).netloc.lower()
        if host and (host == request.headers.get("host", "").lower() or host in self._trusted):
            return
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "this form is only accepted from the dashboard's own pages",
        )


def _tokens(request: Request) -> TokenScopes:
    tokens: TokenScopes = request.app.state.tokens
    return tokens


def sessions(request: Request) -> Sessions:
    kept: Sessions = request.app.state.sessions
    return kept


def scope_of(request: Request, token: str) -> Scope:
    """The token's scope; 401 when it is unknown."""
    return _tokens(request).authorize_digest(hash_secret(token) if token else None)


async def viewer(request: Request) -> Scope:
    """FastAPI dependency: the scope of the signed-in browser's session."""
    digest = sessions(request).digest_of(request.cookies.get(COOKIE))
    return _tokens(request).authorize_digest(digest)


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


def forget_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
