"""Waiting for the database and the broker, and saying in one line what is wrong with them.

A long-running service that starts while PostgreSQL or Kafka is down waits for them, retrying
with a pause that doubles up to 30 s and logging one line per attempt that names the setting
and the host, never a traceback. A setting that can never work (not a URL, a dialect without
a driver) and a database not migrated to the code's schema are not waited for: they stop
the service, and the one-shot commands, at once with one line. A one-shot command does not
wait either: a server that does not answer stops it with a line naming the setting, the host
and what to do (:func:`startup_failure`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial

from aiokafka.errors import KafkaConnectionError
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from shared.config import DatabaseSettings, KafkaSettings, SettingsRefused, env_name
from shared.failures import caused_by, is_unreachable, reason
from shared.lifecycle import Backoff
from shared.messaging.health import kafka_ready
from shared.persistence.engine import create_engine
from shared.persistence.migrations import DatabaseNotMigrated, ensure_migrated

log = logging.getLogger(__name__)


def _not_bootstrap_refusal(record: logging.LogRecord) -> bool:
    """aiokafka logs an ERROR for each broker it cannot bootstrap from, then raises: whoever
    catches that names the setting and the host (the wait's warning, a command's one line),
    so the ERROR would only say it twice."""
    return record.msg != 'Unable connect to "%s:%s": %s'


logging.getLogger("aiokafka").addFilter(_not_bootstrap_refusal)

FIRST_PAUSE_SECONDS = 1.0
MAX_PAUSE_SECONDS = 30.0


class StartupFailure(RuntimeError):
    """A command stopped by a setting or a server; the message says which and what to do."""


class UnusableSetting(StartupFailure):
    """A setting no retry can make work; the message names it and says what would."""


NEVER_WAITED_FOR = (UnusableSetting, DatabaseNotMigrated)
UNUSABLE_URL = (
    sa_exc.ArgumentError,
    sa_exc.NoSuchModuleError,
    sa_exc.InvalidRequestError,
    ModuleNotFoundError,
)
"""Not a URL, a dialect SQLAlchemy does not know, a driver not installed or not async."""


def database_setting() -> str:
    """The variable the database URL came from, as the operator spelled it."""
    return env_name(DatabaseSettings, "database_url")


def kafka_setting() -> str:
    """The variable the Kafka brokers came from, as the operator spelled it."""
    return env_name(KafkaSettings, "kafka_bootstrap_servers")


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
    """The refusal of a database URL that cannot work at all, or ``None`` when ``error``
    may pass (the server is down, say)."""
    if isinstance(error, UNUSABLE_URL):
        return UnusableSetting(
            f"{database_setting()} {database_target(url)} cannot be used: {reason(error)}\n"
            "use postgresql://user:password@host:5432/database or sqlite:///path/to/file.db"
        )
    return None


def refuse_unusable_database(url: str) -> None:
    """Raise :class:`UnusableSetting` now, before anything is served or waited for, when no
    retry can make ``url`` work. Building an engine loads the dialect and the driver and
    connects to nothing."""
    try:
        engine = create_engine(url)
    except Exception as error:
        if unusable := unusable_database(url, error):
            raise unusable from error
        raise
    engine.sync_engine.dispose()


def unreachable(error: BaseException, database_url: str) -> StartupFailure | None:
    """What to do when ``error`` says the database at ``database_url`` or the Kafka brokers
    did not answer, or ``None`` when it says something else."""
    if caused_by(error, KafkaConnectionError):
        name, servers = kafka_setting(), KafkaSettings().kafka_bootstrap_servers
        return StartupFailure(
            f"cannot reach Kafka at {servers} ({name}): {reason(error)}\n"
            f"start Kafka or set {name} to reachable brokers (or unset it: in-process delivery)"
        )
    if not is_unreachable(error):
        return None
    name, target = database_setting(), database_target(database_url)
    fix = (
        f"make that file's directory writable or set {name} to another file"
        if target.startswith("SQLite")
        else f"start PostgreSQL or set {name} to a reachable server"
    )
    return StartupFailure(f"cannot reach the database, {target} ({name}): {reason(error)}\n{fix}")


def startup_failure(error: BaseException, database_url: str | None = None) -> str | None:
    """The one or two lines that tell an operator what to fix when a command stops at
    ``error`` (a setting, a server that does not answer, a database not migrated), or
    ``None`` when it is something else, whose traceback says more. ``database_url`` is the
    database the command used (default: the environment's)."""
    if isinstance(error, (StartupFailure, DatabaseNotMigrated, SettingsRefused)):
        return str(error)
    url = database_url or DatabaseSettings().database_url
    failure = unusable_database(url, error) or unreachable(error, url)
    return None if failure is None else str(failure)


async def database_answers(url: str) -> None:
    """Return when the database at ``url`` answers at the code's schema revision."""
    engine = create_engine(url)
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


def dependencies(database_url: str) -> list[Dependency]:
    """The database; a URL that can never work is refused here, before the service serves
    anything. The transport adds its brokers (``shared.messaging.transport``)."""
    refuse_unusable_database(database_url)
    return [
        (
            f"the database, {database_target(database_url)} ({database_setting()})",
            partial(database_answers, database_url),
        )
    ]


def kafka_dependency(bootstrap_servers: str) -> Dependency:
    """The Kafka brokers, named by the variable that set them."""
    return (f"Kafka at {bootstrap_servers} ({kafka_setting()})", kafka_ready(bootstrap_servers))
