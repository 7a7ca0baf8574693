"""Telling an outage from a poison pill.

A consumer that fails on a batch must decide whether to retry it (the database or broker was
unreachable, a lock timed out, a serialisation conflict: the same work succeeds later) or to
isolate what cannot be applied and go on (anything about the input itself). Retrying a poison
pill stalls a partition forever; skipping during an outage loses data. Only failures known to
pass are transient; every other exception is a property of the input.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc

from shared.contracts.portal import describe

TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
"""Connection exception, transaction rollback (serialisation, deadlock), insufficient
resources, operator intervention (shutdown, cannot connect now), system error."""
LOCK_NOT_AVAILABLE = "55P03"

_TRANSIENT_TYPES = (
    OSError,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (``orig``) and what caused it, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        pending.extend(
            [
                orig if isinstance(orig, BaseException) else None,
                current.__cause__,
                current.__context__,
            ]
        )


def caused_by(
    error: BaseException, kinds: type[BaseException] | tuple[type[BaseException], ...]
) -> bool:
    """Whether ``error``, or anything it wraps or was caused by, is one of ``kinds``."""
    return any(isinstance(link, kinds) for link in _chain(error))


def is_transient(error: BaseException) -> bool:
    """Whether the same work may succeed when retried later."""
    for link in _chain(error):
        if isinstance(link, _TRANSIENT_TYPES):
            return True
        if isinstance(link, sa_exc.DBAPIError) and link.connection_invalidated:
            return True
        state = getattr(link, "sqlstate", None)
        if isinstance(state, str) and (
            state.startswith(TRANSIENT_SQLSTATE_CLASSES) or state == LOCK_NOT_AVAILABLE
        ):
            return True
        if getattr(link, "retriable", False) is True:
            return True
    return False


_UNREACHABLE_TYPES = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
)


def is_unreachable(error: BaseException) -> bool:
    """Whether the server could not be reached or went away (not: a file could not be read)."""
    for link in _chain(error):
        if isinstance(link, _UNREACHABLE_TYPES):
            return True
        state = getattr(link, "sqlstate", None)
        if isinstance(state, str) and state.startswith(("08", "57P")):
            return True
    return False


def reason(error: BaseException) -> str:
    """One line an operator can act on: the error's class and message (a validation error's
    every field and problem), never a traceback, the SQL or the values it was given."""
    if isinstance(error, ValidationError):
        message = describe(error)
    else:
        text = str(error).strip()
        message = text.splitlines()[0] if text else ""
    kind = type(error).__name__
    message = message.removeprefix(f"{kind}: ")
    return f"{kind}: {message}"[:1000] if message else kind
