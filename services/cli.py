"""The ``initiatives`` command: one entry point for every service and operator task.

Sub-commands import their service lazily so ``initiatives --help`` stays fast and a
missing optional piece never breaks the others.
"""

from __future__ import annotations

import datetime as dt
import os
import select
import sys
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer._click import Context  # typer's own click: the type TyperGroup.invoke takes
from typer.core import TyperGroup

from benchmarks.cli import app as bench_app

if TYPE_CHECKING:
    from rich.console import RenderableType

    from services.ingest.settings import IngestSettings
    from shared.config import KafkaSettings
    from shared.dead_letters import Selection
    from shared.messaging.transport import KafkaTransport, Transport

T = TypeVar("T")


class _Commands(TyperGroup):
    """Every command, wrapped once: what stops one because of a setting or a server that
    does not answer is one or two lines on stderr and exit status 2, since an operator needs
    the variable, the host and the fix, not 500 lines of stack; the traceback comes too
    with ``--debug`` or ``LOG_LEVEL=DEBUG``. Anything else (a bug) keeps its traceback."""

    def invoke(self, ctx: Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except BrokenPipeError:
            if not _reader_gone():
                raise
            # `initiatives … | head`: nobody reads the rest, and nothing failed to be told
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(code=1) from None
        except Exception as error:
            from shared.dependencies import startup_failure

            if (failure := startup_failure(error)) is None:
                raise
            if ctx.params.get("debug") or os.environ.get("LOG_LEVEL", "").upper() == "DEBUG":
                typer.echo("".join(traceback.format_exception(error)), err=True, nl=False)
            typer.echo(failure, err=True)
            raise typer.Exit(code=2) from None


def _reader_gone() -> bool:
    """Whether standard output is a pipe whose reader has closed it (a broken pipe to the
    database is a different failure, told as one)."""
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poll.poll(0))
    except (OSError, ValueError):
        return False


app = typer.Typer(
    name="initiatives",
    cls=_Commands,
    help='Track an initiative campaign ("1 triệu sáng kiến") across a hierarchy of union units.',
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="markdown",
)


@app.callback()
def _options(
    debug: Annotated[
        bool,
        typer.Option(
            "--debug",
            help="When a setting or a server stops a command, print the traceback too "
            "(as does LOG_LEVEL=DEBUG)",
        ),
    ] = False,
) -> None:
    """Options of every command (read by :class:`_Commands`)."""


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (idempotent; safe to run on every deploy)."""
    from shared.config import DatabaseSettings
    from shared.persistence.migrations import upgrade_to_head

    url = DatabaseSettings().database_url
    revision = _run(upgrade_to_head(url), url)
    typer.echo(f"database at revision {revision}")


def _run(main: Coroutine[Any, Any, T], database_url: str | None = None) -> T:
    """Run a service or task on uvloop (its event loop costs less per socket operation than
    asyncio's own, which counts for every request and batch), with the garbage collector set
    for batch work (:mod:`shared.heap`). A failure that is about a
    setting or a server leaves as a ``StartupFailure`` (told by :class:`_Commands`), so a
    command's own ``except OSError`` never takes a refused connection for a file it could
    not read; ``database_url`` is the database the task uses (default: the environment's)."""
    import uvloop

    from shared.dependencies import StartupFailure, startup_failure
    from shared.heap import tune_collector

    tune_collector()
    try:
        return uvloop.run(main)
    except StartupFailure:
        raise
    except Exception as error:
        if (failure := startup_failure(error, database_url)) is None:
            raise
        raise StartupFailure(failure) from error


@app.command()
def demo(
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port of every API")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    data: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Load this NDJSON file instead of the sample (the simulated portal is then off)",
        ),
    ] = None,
    simulate: Annotated[
        bool, typer.Option(help="Keep a simulated portal submitting new initiatives")
    ] = True,
    interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between the simulated portal's sends")
    ] = 2.0,
    fresh: Annotated[
        bool, typer.Option(help="Delete the embedded SQLite database first and start over")
    ] = False,
    language: Annotated[
        str, typer.Option(help="Language of the notifications printed: vi or en")
    ] = "vi",
    log_level: Annotated[str, typer.Option(help="Level of the services' JSON logs")] = "WARNING",
) -> None:
    """Run the whole system in one process, with sample data, a simulated portal and the
    dashboard, on one port (default http://127.0.0.1:8000).

    On the embedded default (no KAFKA_BOOTSTRAP_SERVERS) the database is a SQLite file
    of its own (var/demo.db) and the services talk in-process; with DATABASE_URL and
    KAFKA_BOOTSTRAP_SERVERS set, the same command runs on real PostgreSQL and Kafka.
    A database that already holds events is kept (use --fresh to start over).
    """
    from rich.console import Console

    from services.demo.main import DemoError, DemoOptions, run_demo
    from shared.web.logging import configure_logging

    configure_logging("demo", log_level)
    options = DemoOptions(
        host=host,
        port=port,
        data=data,
        simulate=simulate,
        interval_seconds=interval,
        fresh=fresh,
        language=language,
    )
    try:
        _run(run_demo(options, Console()))
    except DemoError as refused:
        typer.echo(f"cannot start the demo: {refused}", err=True)
        raise typer.Exit(code=2) from None


@app.command()
def load(
    files: Annotated[
        list[str],
        typer.Argument(metavar="FILE", help="NDJSON files, one event a line; - is stdin"),
    ],
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=10_000,
            help="Events per transaction (default: INITIATIVES_INGEST_BATCH_SIZE or 1000)",
        ),
    ] = None,
) -> None:
    """Bulk-load portal events from NDJSON files through ingest's validation.

    Every line is checked like an event from Kafka or HTTP. Each rejected
    line is printed as FILE:LINE: code: message (the first 100) and
    dead-lettered, so nothing is lost (`initiatives dead-letters`). Facts
    that come before the fact they refer to are retried once all files are
    read; the summary counts this run's events only.

    An embedded SQLite database is migrated automatically; any other
    database must have been migrated with `initiatives migrate`.

    Exit status: 0 when every event was accepted or is a duplicate, 1 when
    some were rejected or are still parked, 2 when a file or the database
    cannot be used.
    """
    from pathlib import Path

    from rich.console import Console

    from services.ingest.load import STDIN, load_into_database, load_progress
    from services.ingest.settings import IngestSettings

    missing = [name for name in files if name != STDIN and not Path(name).exists()]
    if missing:
        typer.echo(f"no such file: {', '.join(missing)}", err=True)
        raise typer.Exit(code=2)
    settings = IngestSettings()
    if batch_size is not None:
        settings = settings.model_copy(update={"batch_size": batch_size})
    transport = _transport(settings)
    _quiet_per_event_log()
    try:
        with load_progress(Console(stderr=True)) as progress:
            summary = _run(
                load_into_database(files, settings, transport, progress), settings.database_url
            )
    except OSError as refused:
        typer.echo(f"cannot load: {refused}", err=True)
        raise typer.Exit(code=2) from None
    for line in summary.rejection_lines():
        typer.echo(line)
    Console().print(summary.render())
    raise typer.Exit(code=0 if summary.complete else 1)


def _quiet_per_event_log() -> None:
    """An operator command prints each event's outcome with its origin itself; ingest's
    per-event log line would repeat it bare ("portal event rejected") on stderr."""
    import logging

    logging.getLogger("services.ingest.intake").setLevel(logging.ERROR)


@app.command("api-key-hash")
def api_key_hash(
    key: Annotated[
        str | None, typer.Argument(help="The portal's key; asked for (hidden) when left out")
    ] = None,
) -> None:
    """Print the sha256:<hex> form of a portal's API key, for INITIATIVES_INGEST_API_KEYS.

    A key that starts with `-` goes after `--`: `initiatives api-key-hash -- -k3y…`.
    """
    from services.ingest.http import hash_api_key

    typer.echo(hash_api_key(key or typer.prompt("API key", hide_input=True)))


@app.command()
def ingest(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    """Run the ingest service: the Kafka door (when KAFKA_BOOTSTRAP_SERVERS is set), the outbox
    relay, retries of parked facts, and the HTTP door with /healthz, /readyz and /metrics.

    Configured by INITIATIVES_INGEST_* variables (see docs/ingest.md). Refuses to start on a
    database whose schema is not at the code's revision: run `initiatives migrate` first.
    """
    from services.ingest.service import build
    from services.ingest.settings import IngestSettings
    from shared.web.serve import run

    settings = IngestSettings()
    _run(run("ingest", build, settings, _transport(settings), log_level))


def _instant(value: str) -> dt.datetime:
    """An aware ISO 8601 instant: a naive one would mean a different moment on every host."""
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date and time") from None
    if instant.utcoffset() is None:
        raise typer.BadParameter(
            f"{value} has no UTC offset; write the zone, e.g. {value}+07:00 or {value}Z"
        )
    return instant


Codes = Annotated[
    list[str] | None,
    typer.Option(
        "--code", metavar="CODE", help="Only this code, e.g. unknown_unit (repeat for several)"
    ),
]
Since = Annotated[
    dt.datetime | None,
    typer.Option(
        parser=_instant,
        metavar="ISO-DATETIME",
        help="Only from this instant on, with its zone: 2022-05-12T13:30:00+07:00",
    ),
]
Until = Annotated[
    dt.datetime | None,
    typer.Option(parser=_instant, metavar="ISO-DATETIME", help="Only before this instant"),
]
Limit = Annotated[int | None, typer.Option(min=1, help="At most this many, oldest first")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Say what would happen; change nothing")]
FromKafka = Annotated[
    bool,
    typer.Option(
        "--from-kafka",
        help="Read the `<input topic>.dlq` topic (needs KAFKA_BOOTSTRAP_SERVERS), not the table",
    ),
]


def _selection(
    codes: list[str] | None, since: dt.datetime | None, until: dt.datetime | None, limit: int | None
) -> Selection:
    from shared.dead_letters import Selection

    return Selection(tuple(codes or ()), since, until, limit)


def _transport(settings: KafkaSettings) -> Transport:
    """The transport a command's settings choose, decided here once for the command."""
    from shared.messaging.transport import transport_for

    return transport_for(settings)


def _kafka(settings: KafkaSettings) -> KafkaTransport:
    """Kafka, for a command that reads or writes a topic itself (``--from-kafka``)."""
    from shared.messaging.transport import KafkaTransport

    transport = _transport(settings)
    if not isinstance(transport, KafkaTransport):
        typer.echo("--from-kafka needs KAFKA_BOOTSTRAP_SERVERS", err=True)
        raise typer.Exit(code=2)
    return transport


def _ingest_settings() -> IngestSettings:
    from services.ingest.settings import IngestSettings

    return IngestSettings()


def _show(renderable: RenderableType) -> None:
    """Print a report; piped or captured, as wide as it takes to keep each row one line."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console.width = 1000
    console.print(renderable)


dead_letters_app = typer.Typer(
    help="Input ingest refused for good: list it, show one letter, replay after a fix.\n\n"
    "Letters are in the dead_letters table on the embedded default (no Kafka) or, with "
    "--from-kafka, in the `<input topic>.dlq` topic.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(dead_letters_app, name="dead-letters")


@dead_letters_app.command("list")
def dead_letters_list(
    code: Codes = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 100,
    from_kafka: FromKafka = False,
) -> None:
    """List dead letters, one a line: id, when, code, origin (FILE:LINE or
    topic/partition/offset) and the reason (shortened; `show ID` prints it all)."""
    from services.ingest import dlq, operations

    settings = _ingest_settings()
    selection = _selection(code, since, until, limit)
    if from_kafka:
        _show(_run(dlq.list_letters(settings, _kafka(settings), selection)))
    else:
        _show(_run(operations.list_letters(settings, selection), settings.database_url))


@dead_letters_app.command("show")
def dead_letters_show(
    letter_id: Annotated[
        str, typer.Argument(metavar="ID", help="A number, or PARTITION/OFFSET with --from-kafka")
    ],
    from_kafka: FromKafka = False,
) -> None:
    """Print one whole dead letter: code, reason, origin and the raw payload (as text when
    it is UTF-8). Exit status 1 when there is no such letter."""
    from services.ingest import dlq, operations

    settings = _ingest_settings()
    if from_kafka:
        shown = _run(dlq.show_letter(settings, _kafka(settings), letter_id))
    elif letter_id.isdigit():
        shown = _run(operations.show_letter(settings, int(letter_id)), settings.database_url)
    else:
        raise typer.BadParameter(f"{letter_id!r} is not a letter id (a number)")
    if shown is None:
        typer.echo(f"no dead letter {letter_id}", err=True)
        raise typer.Exit(code=1)
    _show(shown)


@dead_letters_app.command("replay")
def dead_letters_replay(
    code: Codes = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = None,
    dry_run: DryRun = False,
    from_kafka: FromKafka = False,
) -> None:
    """Submit dead letters again through ingest's validation, after a fix.

    From the table: an event valid now is appended (a duplicate stays a duplicate) or, if
    it waits for a unit or initiative, parked, and its letter is removed; one still refused
    keeps its letter, with the new code and reason. Letters that are not portal events
    (the notifier's) are left alone.

    With --from-kafka: the records of the DLQ topic are produced back to the input topic
    with their key, for the running ingest to judge; those refused again come back to the
    DLQ as new letters (use --since to take only letters after an earlier replay).

    Exit status: 0 when every letter replayed went in (or was produced), 1 otherwise.
    """
    from services.ingest import dlq, operations

    settings = _ingest_settings()
    selection = _selection(code, since, until, limit)
    _quiet_per_event_log()
    report: operations.ReplayReport | dlq.KafkaReplay
    if from_kafka:
        report = _run(dlq.replay_letters(settings, _kafka(settings), selection, dry_run))
    else:
        report = _run(
            operations.replay_letters(settings, _transport(settings), selection, dry_run),
            settings.database_url,
        )
    _show(report.render())
    raise typer.Exit(code=0 if report.complete else 1)


parked_app = typer.Typer(
    help="Facts waiting for the unit, campaign or initiative they refer to (ingest retries "
    "them every few seconds, and dead-letters them when their hold is over).",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
app.add_typer(parked_app, name="parked")


@parked_app.command("list")
def parked_list(
    code: Codes = None, since: Since = None, until: Until = None, limit: Limit = 100
) -> None:
    """List parked facts, longest waiting first: event id, when parked, code, origin, the
    reason (shortened) and how many times they were tried."""
    from services.ingest import operations

    settings = _ingest_settings()
    selection = _selection(code, since, until, limit)
    _show(_run(operations.list_parked(settings, selection), settings.database_url))


@parked_app.command("retry")
def parked_retry(
    code: Codes = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = None,
    dry_run: DryRun = False,
) -> None:
    """Retry parked facts now, as ingest's own retries do: those that fit are accepted and
    leave the lot, those still waiting stay (with the new reason) until their hold is over,
    those refused for good (or past their hold) are dead-lettered.

    Exit status: 0 when every fact retried was accepted, 1 otherwise.
    """
    from services.ingest import operations

    settings = _ingest_settings()
    _quiet_per_event_log()
    retried = _run(
        operations.retry_parked(
            settings, _transport(settings), _selection(code, since, until, limit), dry_run
        ),
        settings.database_url,
    )
    _show(retried.render())
    report = retried.report
    raise typer.Exit(code=0 if report.released == len(report.tried) else 1)


projector_app = typer.Typer(
    help="The projector: read models of progress per unit and phase.",
    rich_markup_mode="markdown",
)
app.add_typer(projector_app, name="projector")


@projector_app.callback(invoke_without_command=True)
def projector(
    context: typer.Context,
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    """Run the projector (without a sub-command): keeps the read models current and
    publishes progress changes for the notifier.

    With KAFKA_BOOTSTRAP_SERVERS it consumes initiatives.events.v1; without, it follows the
    event store itself (the embedded default). Serves /healthz, /readyz and /metrics on
    INITIATIVES_PROJECTOR_HTTP_PORT (default 8002). Refuses an un-migrated database.
    """
    if context.invoked_subcommand is not None:
        return
    from services.projector.service import build
    from services.projector.settings import ProjectorSettings
    from shared.web.serve import run

    settings = ProjectorSettings()
    _run(run("projector", build, settings, _transport(settings), log_level))


@projector_app.command()
def rebuild(
    restart: Annotated[
        bool, typer.Option(help="Discard an interrupted rebuild instead of resuming it")
    ] = False,
    batch_size: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=200_000,
            help="Events per transaction (default 50,000 in the first pass over whole "
            "histories, 20,000 after): larger batches share more of each write and hold "
            "more memory",
        ),
    ] = None,
) -> None:
    """Rebuild every read model from the event store and swap them in atomically.

    Dashboards keep reading the current tables until the swap. An interrupted rebuild
    resumes where it stopped (use --restart to start over). A rebuild sends no
    notifications.
    """
    from services.projector.rebuild import rebuild as run_rebuild
    from services.projector.settings import ProjectorSettings

    url = ProjectorSettings().database_url
    with _replay_progress("rebuilding read models") as (advance, stage):
        report = _run(
            run_rebuild(
                url,
                batch_size=batch_size,
                restart=restart,
                progress=advance,
                stage=stage,
            ),
            url,
        )
    typer.echo(
        f"rebuilt from {report.events:,} events in {report.seconds:.1f} s "
        f"({report.events_per_second:,.0f} events/s)"
    )


@contextmanager
def _replay_progress(
    label: str,
) -> Iterator[tuple[Callable[[int, int], None], Callable[[str], None]]]:
    """A progress bar for a replay of the event store, labelled ``label`` until a stage
    begins; yields its (done, total) callback and a stage callback, which names the stage on
    the bar instead and prints how long each one took."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} events/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns) as bar:
        task = bar.add_task(label, total=None, rate="–")
        current: list[tuple[str, float]] = []

        def advance(done: int, total: int) -> None:
            speed = bar.tasks[0].speed
            bar.update(task, completed=done, total=total, rate=f"{speed:,.0f}" if speed else "–")

        def finished() -> None:
            if current:
                name, since = current.pop()
                bar.console.print(f"{name}: {time.perf_counter() - since:,.1f} s")

        def stage(name: str) -> None:
            finished()
            current.append((name, time.perf_counter()))
            bar.update(task, description=name)

        yield advance, stage
        finished()


@projector_app.command()
def verify() -> None:
    """Check that the read models agree with the event store: versions applied beyond what
    the store holds (events lost after a failover or a restore), and every table against a
    rebuild replayed into shadow tables (then dropped; the live tables are not touched).

    Takes as long as a rebuild. Exit status: 0 when everything agrees, 1 when something
    diverges (each divergence is listed; `initiatives projector rebuild --restart` repairs
    the read models from the store).
    """
    from services.projector.settings import ProjectorSettings
    from services.projector.verify import verify as run_verify

    url = ProjectorSettings().database_url
    with _replay_progress("replaying the store to compare") as (advance, stage):
        verdict = _run(run_verify(url, progress=advance, stage=stage), url)
    typer.echo(verdict.render())
    raise typer.Exit(code=0 if verdict.agrees else 1)


quarantine_app = typer.Typer(
    help="Events the projector could not apply, and the streams waiting behind them.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
projector_app.add_typer(quarantine_app, name="quarantine")


@quarantine_app.command("list")
def quarantine_list() -> None:
    """List every stream stopped at an event that could not be applied: where it stopped,
    why, and how many later events wait behind it in the event store.

    Exit status: 0 when nothing waits, 1 when something does (for scripts and checks).
    """
    from services.projector.operations import list_quarantine
    from services.projector.settings import ProjectorSettings

    url = ProjectorSettings().database_url
    report = _run(list_quarantine(url), url)
    typer.echo(report.render())
    raise typer.Exit(code=1 if report.entries else 0)


@quarantine_app.command("retry")
def quarantine_retry(
    streams: Annotated[
        list[str] | None,
        typer.Argument(metavar="STREAM", help="Streams to retry, e.g. initiative-np-1001"),
    ] = None,
    all_streams: Annotated[
        bool, typer.Option("--all", help="Retry every quarantined stream")
    ] = False,
) -> None:
    """Apply quarantined streams again from the event each stopped at, once the cause is
    fixed (a new release, a reference fact added). A stream that still fails is quarantined
    again with the new reason. Progress changes go to the notifier as for live events.

    Exit status: 0 when every stream retried applied, 1 when some still wait.
    """
    from services.projector.operations import retry_quarantine
    from services.projector.settings import ProjectorSettings

    if not streams and not all_streams:
        typer.echo("name the streams to retry, or pass --all", err=True)
        raise typer.Exit(code=2)
    url = ProjectorSettings().database_url
    report = _run(retry_quarantine(url, None if all_streams else streams), url)
    typer.echo(report.render())
    raise typer.Exit(code=1 if report.still_waiting else 0)


@app.command()
def notifier(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    """Run the notifier: judges progress changes (thresholds, pace, deadlines), keeps the
    clock for deadlines and daily digests, sends webhooks and e-mails, and serves the
    subscriptions and notifications API with /healthz, /readyz and /metrics on
    INITIATIVES_NOTIFIER_HTTP_HOST:INITIATIVES_NOTIFIER_HTTP_PORT (default 127.0.0.1:8003).

    With KAFKA_BOOTSTRAP_SERVERS it consumes progress.changes.v1; without, it drains the
    projector's outbox (the embedded default). Configured by INITIATIVES_NOTIFIER_*
    variables (see docs/notifier.md). Refuses an un-migrated database.
    """
    from services.notifier.service import build
    from services.notifier.settings import NotifierSettings
    from shared.web.serve import run

    settings = NotifierSettings()
    _run(run("notifier", build, settings, _transport(settings), log_level))


@app.command()
def api(
    log_level: Annotated[str, typer.Option(help="DEBUG, INFO, WARNING or ERROR")] = "INFO",
) -> None:
    """Serve the query API for dashboards (OpenAPI at /docs) with /healthz, /readyz and
    /metrics, on INITIATIVES_API_HTTP_HOST:INITIATIVES_API_HTTP_PORT (default 127.0.0.1:8000).

    Every /v1 request needs a token (Authorization: Bearer …) configured hashed in
    INITIATIVES_API_TOKENS; see docs/query-api.md.
    """
    from services.projector.api.main import ApiServerSettings, serve

    _run(serve(ApiServerSettings(), log_level))


app.add_typer(bench_app, name="bench")

if __name__ == "__main__":
    app()
