"""Scoped access tokens: each token reads one unit's subtree, or every unit (``*``).

An official of a district must never read another district's figures, so every request
names a unit, and the unit must lie in the token's scope (the unit itself or one of its
descendants, by the projector's published closure). Tokens are configured as hashes only;
refusals are logged with the scope, never the token. Shared by the query API and the notifier's API.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.persistence.published import published_unit_closure as closure
from shared.web.secrets import hash_secret, is_secret_hash

log = logging.getLogger(__name__)

ADMIN_SCOPE = "*"
"""The scope of a token that may read every unit."""


@dataclass(frozen=True, slots=True)
class Scope:
    unit_id: str
    """The unit whose subtree the token reads, or ``*`` for every unit."""

    @property
    def is_admin(self) -> bool:
        return self.unit_id == ADMIN_SCOPE


class TokenScopes:
    """The scope of a presented token, knowing only the tokens' hashes."""

    def __init__(self, hashed: Mapping[str, str], *, realm: str) -> None:
        for configured, scope in hashed.items():
            if not is_secret_hash(configured):
                raise ValueError(
                    f"the token for scope {scope!r} is not configured as sha256:<64 hex digits>; "
                    "configure the output of `initiatives api-key-hash TOKEN`, never the token"
                )
        self._scopes = dict(hashed)
        self._challenge = {"WWW-Authenticate": f'Bearer realm="{realm}"'}

    def scope_of(self, token: str) -> Scope | None:
        """The token's scope; None when it is not a configured token."""
        return self.scope_of_digest(hash_secret(token))

    def scope_of_digest(self, digest: str) -> Scope | None:
        """The scope of the token whose ``sha256:<hex>`` this is (a dashboard session holds
        the hash, never the token)."""
        # Looked up by the token's digest: timing reveals nothing an attacker can steer.
        unit_id = self._scopes.get(digest)
        return None if unit_id is None else Scope(unit_id)

    def authorize(self, credentials: HTTPAuthorizationCredentials | None) -> Scope:
        """The scope of the request's bearer token; 401 when it is missing or unknown."""
        return self.authorize_digest(hash_secret(credentials.credentials) if credentials else None)

    def authorize_digest(self, digest: str | None) -> Scope:
        """The scope of a token known by its hash; 401 when it is missing or unknown."""
        scope = self.scope_of_digest(digest) if digest else None
        if scope is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing or unknown access token: send Authorization: Bearer <token>",
                headers=self._challenge,
            )
        return scope


async def covers(connection: AsyncConnection, scope: Scope, unit_id: str) -> bool:
    """Whether ``unit_id`` lies in the token's scope (an unknown unit never does, but for ``*``)."""
    if scope.is_admin:
        return True
    depth = await connection.scalar(
        sa.select(closure.c.depth).where(
            closure.c.ancestor_id == scope.unit_id, closure.c.descendant_id == unit_id
        )
    )
    return depth is not None


def log_refusal(scope: Scope, unit_id: str) -> None:
    """Log a request for a unit outside the token's scope, so an operator can follow up."""
    log.warning(
        "refused a unit outside the token's scope",
        extra={"token_scope": scope.unit_id, "requested_unit": unit_id},
    )


def outside_scope(scope: Scope, unit_id: str) -> HTTPException:
    """The 403 for a unit outside the token's scope, logged."""
    log_refusal(scope, unit_id)
    return HTTPException(
        status.HTTP_403_FORBIDDEN, f"unit {unit_id!r} is outside this token's scope"
    )


async def bearer_scope(
    request: Request,
    credentials: Annotated[
        HTTPAuthorizationCredentials | None, Security(HTTPBearer(auto_error=False))
    ],
) -> Scope:
    """FastAPI dependency: the scope of the request's token (``app.state.tokens`` holds the
    app's :class:`TokenScopes`); 401 when it is missing or unknown."""
    tokens: TokenScopes = request.app.state.tokens
    return tokens.authorize(credentials)


TokenScope = Annotated[Scope, Depends(bearer_scope)]
