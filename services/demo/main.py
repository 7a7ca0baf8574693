"""The demo's composition root: one database, the three services, one HTTP port.

Order matters for a newcomer's first minute: the sample is loaded and projected before the
page is announced, so the first look already shows the seed cases' figures; the decisions
the sample's history leads to are counted, and only new ones are printed as they come.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from services.demo.app import demo_app
from services.demo.notifications import NotificationLog
from services.demo.portal import Send, SimulatedPortal
from services.demo.sample import write_sample
from services.ingest import service as ingest_service
from services.ingest.components import IngestComponents
from services.ingest.http import hash_api_key
from services.ingest.intake import Incoming
from services.ingest.load import load_files, load_progress
from services.ingest.settings import IngestSettings
from services.notifier import service as notifier_service
from services.notifier.settings import NotifierSettings
from services.projector import service as projector_service
from services.projector.api.settings import QueryApiSettings
from services.projector.components import ProjectorComponents
from services.projector.quarantine import quarantine_clear
from services.projector.settings import ProjectorSettings
from shared.clock import Clock, utc_now
from shared.config import DatabaseSettings, KafkaSettings
from shared.dead_letters import Origin
from shared.heap import freeze_loaded
from shared.lifecycle import BackgroundTasks
from shared.messaging.transport import Transport, transport_for
from shared.persistence import progress_outbox
from shared.persistence.engine import create_engine, is_sqlite
from shared.persistence.migrations import upgrade
from shared.web.auth import ADMIN_SCOPE
from shared.web.secrets import hash_secret, new_secret
from shared.web.serve import serve_http

SAMPLE_FILE = Path("var") / "demo-sample.ndjson"
DEMO_DATABASE_URL = "sqlite+aiosqlite:///var/demo.db"
"""The demo's own file, so it never continues with what other runs left in the default one."""
PORTAL = "demo-portal"
SETTLE_TIMEOUT_SECONDS = 120.0


class DemoError(Exception):
    """The demo cannot start; the message says what to do."""


@dataclass(frozen=True)
class DemoOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    data: Path | None = None
    simulate: bool = True
    interval_seconds: float = 2.0
    """Seconds between the simulated portal's sends; 0 leaves the sending to the caller."""
    fresh: bool = False
    language: str = "vi"
    sample_file: Path = SAMPLE_FILE
    portal_seed: int | None = None
    """None: different simulated initiatives on every start; tests fix it to compare runs."""

    @property
    def simulating(self) -> bool:
        """The simulated portal sends to the sample's province, so never beside ``--data``."""
        return self.simulate and self.data is None


@dataclass(frozen=True)
class Secrets:
    """Made anew on every start and printed once: the demo keeps no secret on disk."""

    admin_token: str
    portal_key: str

    @classmethod
    def fresh(cls) -> Secrets:
        return cls(new_secret(), new_secret())


def _check_port_free(host: str, port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise DemoError(
                f"cannot serve on {host}:{port} ({error.strerror}); choose another with --port"
            ) from None


def _start_afresh(database_url: str) -> None:
    if not is_sqlite(database_url):
        raise DemoError("--fresh only deletes an embedded SQLite database; drop yours yourself")
    database = make_url(database_url).database
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


async def _load(
    parts: IngestComponents, options: DemoOptions, console: Console, clock: Clock
) -> None:
    """Load the sample (or ``--data``) into an empty store; a store with events is kept."""
    if events := await parts.store.last_position():
        console.print(f"continuing with the {events:,} events already in the database")
        return
    if options.data is None:
        path = options.sample_file
        count = write_sample(path, clock())
        console.print(f"sample data: {count:,} portal events written to {path}")
    else:
        path = options.data
    with load_progress(console) as progress:
        summary = await load_files([str(path)], parts.intake, parts.settings.batch_size, progress)
    console.print(summary.render())


async def _project(parts: ProjectorComponents, console: Console) -> None:
    """Embedded: bring the read models up to date before the page is announced."""
    with console.status("projecting the read models…"):
        applied = await projector_service.store_tailer(parts).catch_up()
    console.print(f"read models up to date ({applied:,} events projected)")


async def _settle_notifier(engine: AsyncEngine, console: Console) -> None:
    """Embedded: wait until the notifier has judged every change of the loaded history."""
    with console.status("judging the history for notifications…"):
        async with asyncio.timeout(SETTLE_TIMEOUT_SECONDS):
            while True:
                if not await progress_outbox.backlog(engine):
                    return
                await asyncio.sleep(0.2)


def _portal_sender(parts: IngestComponents) -> Send:
    """Through Kafka's portal topic when there is one, else straight into ingest's intake."""
    producer = parts.link.producer

    async def to_intake(events: Sequence[bytes]) -> None:
        await parts.intake.receive(
            [Incoming(raw, Origin(PORTAL)) for raw in events], dead_letter_rejections=True
        )

    if producer is None:
        return to_intake

    async def to_kafka(events: Sequence[bytes]) -> None:
        for raw in events:
            await producer.send_and_wait(parts.settings.input_topic, raw)

    return to_kafka


def tour(console: Console, options: DemoOptions, keys: Secrets, transport: Transport) -> None:
    """What the demo serves and a tour of the sample; the tour promises moving figures only
    when the simulated portal runs, and is left out for ``--data``, which has no sample."""
    base = f"http://{options.host}:{options.port}"
    portal = (
        f"a simulated portal sends an initiative every {options.interval_seconds:g} s, so\n"
        "     thresholds are crossed as you watch, printed below and listed on each unit's page"
        if options.simulating
        else "the simulated portal is off (--no-simulate), so its figures\n"
        "     stay as loaded; the notifications its history led to are on each unit's page"
    )
    sample_tour = f"""
A short tour
  1. Open the dashboard, sign in, and search "ba che" (diacritics are optional): Ba Chẽ's
     union of government agencies reached 20 of its 36 initiatives in phase I (to May 2022).
  2. Search "bac kan": Bắc Kạn's targets are shares of its 13,500 members, 5 % + 4 % + 6 %
     (675 + 540 + 810 initiatives).
  3. Open "LĐLĐ tỉnh Sơn Minh (mô phỏng)", a synthetic province whose phase 1 ends in ten
     days: {portal}.
  4. The same figures as JSON:
     curl -H 'Authorization: Bearer {keys.admin_token}' {base}/v1/units/bac-kan/progress
"""
    console.rule("[bold]initiatives demo is running")
    console.print(
        f"""
  dashboard       {base}/  (sign in with the admin token)
  query API       {base}/docs
  notifier API    {base}/v1/subscriptions, {base}/v1/notifications
  portal door     POST {base}/ingest/v1/events  (header X-API-Key: the portal key)
  operations      {base}/healthz  {base}/readyz  {base}/metrics

  admin token: {keys.admin_token}
  portal key:  {keys.portal_key}
{sample_tour if options.data is None else ""}
Transport: {transport}. Stop with Ctrl+C.
""",
        soft_wrap=True,
        highlight=False,
    )


@dataclass(frozen=True)
class DemoSettings:
    """Every service's settings, pointed at one database and one transport."""

    ingest: IngestSettings
    projector: ProjectorSettings
    notifier: NotifierSettings
    api: QueryApiSettings

    @property
    def database_url(self) -> str:
        return self.ingest.database_url

    @property
    def transport(self) -> Transport:
        """One transport for the three services, chosen by the Kafka setting they share."""
        return transport_for(self.ingest)

    @classmethod
    def from_environment(cls, keys: Secrets) -> DemoSettings:
        """The services' own variables, with one ``DATABASE_URL`` and Kafka for all."""
        tokens = {hash_secret(keys.admin_token): ADMIN_SCOPE}
        database = DatabaseSettings()
        shared = {
            "database_url": (
                database.database_url if database.model_fields_set else DEMO_DATABASE_URL
            ),
            "kafka_bootstrap_servers": KafkaSettings().kafka_bootstrap_servers,
        }
        return cls(
            ingest=IngestSettings().model_copy(
                update=shared | {"api_keys": {PORTAL: hash_api_key(keys.portal_key)}}
            ),
            projector=ProjectorSettings().model_copy(update=shared),
            notifier=NotifierSettings().model_copy(update=shared | {"tokens": tokens}),
            api=QueryApiSettings().model_copy(update={"tokens": tokens}),
        )


@dataclass(frozen=True)
class RunningDemo:
    app: FastAPI
    http_metrics: CollectorRegistry
    """Where the one port's requests are counted; part of the app's ``/metrics``."""
    engine: AsyncEngine
    portal: SimulatedPortal | None
    """The simulated portal, when ``--simulate``: tests send its ticks themselves."""


@asynccontextmanager
async def running_demo(
    options: DemoOptions, settings: DemoSettings, console: Console, clock: Clock = utc_now
) -> AsyncIterator[RunningDemo]:
    """Migrate, load, project, start every service; stop them in order on the way out."""
    transport = settings.transport
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with AsyncExitStack() as stack:
            ingest = await stack.enter_async_context(
                ingest_service.build(settings.ingest, transport, engine=engine, clock=clock)
            )
            await _load(ingest.parts, options, console, clock)
            projector = await stack.enter_async_context(
                projector_service.build(settings.projector, transport, engine=engine)
            )
            if transport.in_process:
                await _project(projector.parts, console)
            notifier = await stack.enter_async_context(
                notifier_service.build(settings.notifier, transport, engine=engine, clock=clock)
            )
            for service in (ingest, projector, notifier):
                await service.background.start()
                stack.push_async_callback(service.background.stop)
            if transport.in_process:
                await _settle_notifier(engine, console)

            tasks = BackgroundTasks()
            stack.push_async_callback(tasks.stop)
            log = NotificationLog(engine, console, options.language)
            decided = await log.skip_existing()
            console.print(f"{decided:,} notifications decided on the history so far")
            tasks.start(log.run, name="notification-log")
            portal = None
            if options.simulating:
                portal = SimulatedPortal(
                    _portal_sender(ingest.parts),
                    clock,
                    interval_seconds=options.interval_seconds,
                    seed=secrets.randbits(32)
                    if options.portal_seed is None
                    else options.portal_seed,
                )
                if options.interval_seconds > 0:
                    tasks.start(portal.run, name="simulated-portal")

            http_metrics = CollectorRegistry()
            readiness = transport.readiness(engine)
            readiness["quarantine"] = quarantine_clear(
                engine, projector.parts.metrics.quarantined_streams
            )
            app = demo_app(
                engine,
                clock=clock,
                api_settings=settings.api,
                notifier_settings=settings.notifier,
                ingest=ingest.parts,
                registries=(ingest.metrics, projector.metrics, notifier.metrics, http_metrics),
                readiness=readiness,
            )
            yield RunningDemo(app, http_metrics, engine, portal)
    finally:
        await engine.dispose()


async def run_demo(options: DemoOptions, console: Console) -> None:
    """``initiatives demo``: refuse early what cannot work, then run until Ctrl+C."""
    _check_port_free(options.host, options.port)
    keys = Secrets.fresh()
    settings = DemoSettings.from_environment(keys)
    if options.fresh:
        _start_afresh(settings.database_url)
    async with running_demo(options, settings, console) as demo:
        freeze_loaded()
        tour(console, options, keys, settings.transport)
        await serve_http(demo.app, options.host, options.port, demo.http_metrics)
