"""Waiting for the database and the broker, and saying in one line what is wrong with them.

A long-running service that starts while PostgreSQL or Kafka is down waits for them, retrying
with a pause that doubles up to 30 s and logging one line per attempt that names the setting
and the host, never a traceback. A setting that can never work (not a URL, a dialect without
a driver) and a database not migrated to the code's schema are not waited for: they stop
the service, and the one-shot commands, at once with one line.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from shared.failures import reason
from shared.lifecycle import Backoff
from shared.messaging.health import kafka_ready
from shared.persistence.engine import create_engine
from shared.persistence.migrations import DatabaseNotMigrated, ensure_migrated

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 1.0
MAX_PAUSE_SECONDS = 30.0


class UnusableSetting(RuntimeError):
    """A setting no retry can make work; the message names it and says what would."""


NEVER_WAITED_FOR = (UnusableSetting, DatabaseNotMigrated)
UNUSABLE_URL = (
    sa_exc.ArgumentError,
    sa_exc.NoSuchModuleError,
    sa_exc.InvalidRequestError,
    ModuleNotFoundError,
)
"""Not a URL, a dialect SQLAlchemy does not know, a driver not installed or not async."""


def database_target(url: str) -> str:
    """Where a database URL points, for messages: host, port and database, never a password."""
    try:
        parsed = make_url(url)
    except sa_exc.ArgumentError:
        return repr(url[:80])
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    port = f":{parsed.port}" if parsed.port else ""
    where = f"{parsed.host or 'localhost'}{port}/{parsed.database or ''}"
    return f"{parsed.get_backend_name()} at {where}"


def unusable_database(url: str, error: BaseException) -> UnusableSetting | None:
    """The one-line refusal for a database URL that cannot work at all, or ``None`` when
    ``error`` may pass (the server is down, say)."""
    if isinstance(error, UNUSABLE_URL):
        return UnusableSetting(
            f"DATABASE_URL {database_target(url)} cannot be used ({reason(error)}): give "
            "postgresql://user:password@host:5432/database or sqlite:///path/to/file.db"
        )
    return None


async def database_answers(url: str) -> None:
    """Return when the database at ``url`` answers at the code's schema revision."""
    try:
        engine = create_engine(url)
    except Exception as error:
        raise unusable_database(url, error) or error from None
    try:
        await ensure_migrated(engine)
    finally:
        await engine.dispose()


async def wait_for(
    what: str, check: Callable[[], Awaitable[None]], waiting: Callable[[str], None] | None = None
) -> None:
    """Run ``check`` until it passes; ``waiting`` hears why it did not, for ``/readyz``."""
    pauses = Backoff(FIRST_PAUSE_SECONDS, MAX_PAUSE_SECONDS)
    while True:
        try:
            await check()
        except NEVER_WAITED_FOR:
            raise
        except Exception as error:
            why, pause = reason(error), pauses.next()
            log.warning(
                f"waiting for {what}: {why}; trying again in {pause:g} s",
                extra={"dependency": what, "reason": why, "retry_in_seconds": pause},
            )
            if waiting is not None:
                waiting(f"{what}: {why}")
            await asyncio.sleep(pause)
        else:
            return


Dependency = tuple[str, Callable[[], Awaitable[None]]]
"""What a service waits for (named for the log) and the check that passes once it answers."""


def dependencies(database_url: str, kafka_bootstrap_servers: str | None) -> list[Dependency]:
    """The database, and Kafka when the service uses it."""
    waits: list[Dependency] = [
        (
            f"the database, {database_target(database_url)} (DATABASE_URL)",
            partial(database_answers, database_url),
        )
    ]
    if kafka_bootstrap_servers:
        waits.append(
            (
                f"Kafka at {kafka_bootstrap_servers} (KAFKA_BOOTSTRAP_SERVERS)",
                kafka_ready(kafka_bootstrap_servers),
            )
        )
    return waits
