"""Real Kafka and PostgreSQL for integration tests (a pytest plugin).

Registered from ``tests/conftest.py`` with ``pytest_plugins = ["tests.infrastructure"]``.

* ``infrastructure`` (session): the servers to test against. With both
  ``KAFKA_BOOTSTRAP_SERVERS`` and ``DATABASE_URL`` set, those are used as they are;
  otherwise ``deploy/local/infra.sh up`` starts local throwaway servers, which
  ``deploy/local/infra.sh down`` stops at the end of the session (only when this session
  started them). Nothing is started until a test asks for it, so
  ``pytest -m "not integration"`` needs no server. A start that fails is an error, never
  a skip.
* ``postgres_database_url`` (function): a fresh empty database, dropped afterwards.
* ``kafka_topic_prefix`` (function): a unique prefix for the topics of one test;
  ``create_topics`` creates topics and waits until their metadata is visible.
* The terminal summary names the servers used and counts the tests marked
  ``integration``; with ``CI`` set, a skipped integration test fails the run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

REPO_ROOT = Path(__file__).resolve().parent.parent
INFRA_SCRIPT = REPO_ROOT / "deploy" / "local" / "infra.sh"
INTEGRATION_MARKER = "integration"
START_TIMEOUT_S = 600.0  # a cold start downloads the Kafka jars first
STOP_TIMEOUT_S = 120.0
TOPICS_VISIBLE_TIMEOUT_S = 30.0
KAFKA_ERROR_TOPIC_ALREADY_EXISTS = 36

Outcome = Literal["passed", "failed", "skipped", "xfailed"]


@dataclass(frozen=True)
class Infrastructure:
    """Where the real servers of this test session are."""

    kafka_bootstrap_servers: str
    database_url: str  # postgresql://user@host:port/dbname (the admin database)
    kafka_version: str  # e.g. "4.1.1"; "external" when the servers were given
    postgres_version: str  # e.g. "15.18"


@dataclass
class _SessionState:
    infrastructure: Infrastructure | None = None
    started_here: bool = False
    start_seconds: float | None = None
    start_error: str | None = None
    integration_nodeids: set[str] = field(default_factory=set)
    outcomes: dict[str, Outcome] = field(default_factory=dict)


_STATE_KEY = pytest.StashKey[_SessionState]()


def _state(config: pytest.Config) -> _SessionState:
    state = config.stash.get(_STATE_KEY, None)
    if state is None:
        state = _SessionState()
        config.stash[_STATE_KEY] = state
    return state


# ----------------------------------------------------------------------------- URLs


def asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy form) or ``postgres://…`` → ``postgresql://…``."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme == "postgres":
        scheme = "postgresql"
    return urlunsplit(parts._replace(scheme=scheme))


def sqlalchemy_url(url: str) -> str:
    """Any PostgreSQL URL → ``postgresql+asyncpg://…`` for ``create_async_engine``."""
    return urlunsplit(urlsplit(asyncpg_dsn(url))._replace(scheme="postgresql+asyncpg"))


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


def _host_port(url: str, default_port: int) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or default_port}"


# ----------------------------------------------------------------------------- starting


def _infra_state_dir() -> Path:
    configured = os.environ.get("INFRA_STATE_DIR")
    return Path(configured) if configured else INFRA_SCRIPT.parent / "state"


def _local_kafka_bootstrap() -> str:
    return f"127.0.0.1:{os.environ.get('INFRA_KAFKA_PORT', '59092')}"


def _local_kafka_version(bootstrap: str) -> str | None:
    """The version deploy/local started, when ``bootstrap`` is that broker."""
    if bootstrap != _local_kafka_bootstrap():
        return None
    version_file = _infra_state_dir() / "kafka.version"
    try:
        return version_file.read_text().strip() or None
    except OSError:
        return None


def _run_script(command: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INFRA_SCRIPT), command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def _parse_exports(stdout: str) -> dict[str, str]:
    exports: dict[str, str] = {}
    for line in stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            name, value = line.removeprefix("export ").split("=", 1)
            exports[name.strip()] = value.strip().strip("'\"")
    return exports


class InfrastructureError(RuntimeError):
    """deploy/local/infra.sh could not start or stop the servers."""


def _start_local() -> tuple[dict[str, str], bool]:
    """Run ``infra.sh up``; returns its exports and whether this call started anything.

    When ``up`` fails and nothing ran before, whatever it did start is stopped again.
    """
    status = _run_script("status", timeout=60)
    already_running = status.returncode == 0
    nothing_running = "running" not in status.stdout  # its lines say running or stopped
    try:
        result = _run_script("up", timeout=START_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        error = f"{INFRA_SCRIPT} up did not finish within {START_TIMEOUT_S:.0f} s:\n{_tail(stderr)}"
    else:
        exports = _parse_exports(result.stdout)
        missing = {"KAFKA_BOOTSTRAP_SERVERS", "DATABASE_URL"} - exports.keys()
        if result.returncode == 0 and not missing:
            return exports, not already_running
        if result.returncode != 0:
            error = f"{INFRA_SCRIPT} up failed with exit code {result.returncode}"
        else:
            error = f"{INFRA_SCRIPT} up printed no {', '.join(sorted(missing))}"
        error += f":\n{_tail(result.stderr)}"
    if nothing_running:
        try:
            _stop_local()
        except (InfrastructureError, subprocess.TimeoutExpired) as exc:
            error += f"\n(cleaning up failed too: {exc})"
    raise InfrastructureError(error)


def _stop_local() -> None:
    result = _run_script("down", timeout=STOP_TIMEOUT_S)
    if result.returncode != 0:
        raise InfrastructureError(
            f"{INFRA_SCRIPT} down failed with exit code {result.returncode}:\n"
            f"{_tail(result.stderr)}"
        )


async def _postgres_version(database_url: str) -> str:
    connection = await asyncpg.connect(asyncpg_dsn(database_url), timeout=30)
    try:
        version = await connection.fetchval("show server_version")
    finally:
        await connection.close()
    return str(version).split()[0]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def infrastructure(request: pytest.FixtureRequest) -> AsyncIterator[Infrastructure]:
    """Real Kafka and PostgreSQL: given by the environment or started by deploy/local."""
    state = _state(request.config)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    database_url = os.environ.get("DATABASE_URL")
    started_here = False
    if not (bootstrap and database_url):
        began = time.monotonic()
        error: str | None = None
        try:
            exports, started_here = await asyncio.to_thread(_start_local)
        except InfrastructureError as exc:
            error = str(exc)
        if error is not None:  # outside the except block: no chained traceback
            messages = [line for line in error.splitlines() if "ERROR" in line]
            state.start_error = (messages or error.splitlines())[0]
            pytest.fail(f"could not start the real infrastructure: {error}", pytrace=False)
        state.start_seconds = time.monotonic() - began
        state.started_here = started_here
        bootstrap = exports["KAFKA_BOOTSTRAP_SERVERS"]
        database_url = exports["DATABASE_URL"]

    try:
        postgres_version = await _postgres_version(database_url)
        infra = Infrastructure(
            kafka_bootstrap_servers=bootstrap,
            database_url=database_url,
            kafka_version=_local_kafka_version(bootstrap) or "external",
            postgres_version=postgres_version,
        )
        state.infrastructure = infra
        yield infra
    finally:
        if started_here:
            await asyncio.to_thread(_stop_local)


# ----------------------------------------------------------------------------- per test


@pytest_asyncio.fixture
async def postgres_database_url(infrastructure: Infrastructure) -> AsyncIterator[str]:
    """A fresh, empty database of its own (``postgresql://`` URL); dropped afterwards."""
    name = f"test_{uuid.uuid4().hex}"
    admin_dsn = asyncpg_dsn(infrastructure.database_url)
    admin = await asyncpg.connect(admin_dsn, timeout=30)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield with_database(admin_dsn, name)
    finally:
        admin = await asyncpg.connect(admin_dsn, timeout=30)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
def kafka_topic_prefix() -> str:
    """A unique prefix (``t<hex>.``) for the topics of one test."""
    return f"t{uuid.uuid4().hex[:16]}."


async def create_topics(
    bootstrap: str,
    names: Iterable[str],
    partitions: int = 1,
) -> None:
    """Create topics (an existing one is fine) and wait until the broker reports their
    partitions with a leader."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, partitions, 1) for name in wanted], timeout_ms=15000
        )
        errors = [
            f"{entry[0]}: error {entry[1]} {entry[2] if len(entry) > 2 else ''}".rstrip()
            for entry in response.topic_errors
            if entry[1] not in (0, KAFKA_ERROR_TOPIC_ALREADY_EXISTS)
        ]
        if errors:
            raise RuntimeError("could not create topics: " + "; ".join(errors))

        deadline = time.monotonic() + TOPICS_VISIBLE_TIMEOUT_S
        while True:
            topics = await admin.describe_topics(wanted)
            ready = {
                topic["topic"]
                for topic in topics
                if topic["error_code"] == 0
                and len(topic["partitions"]) >= partitions
                and all(p["error_code"] == 0 and p["leader"] >= 0 for p in topic["partitions"])
            }
            if ready >= set(wanted):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"topics not visible after {TOPICS_VISIBLE_TIMEOUT_S:.0f} s: "
                    f"{sorted(set(wanted) - ready)}"
                )
            await asyncio.sleep(0.1)
    finally:
        await admin.close()


# ----------------------------------------------------------------------------- reporting


class _Reporter:
    """Counts the integration tests and reports on the servers (registered per session)."""

    def __init__(self, state: _SessionState) -> None:
        self.state = state

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.state.integration_nodeids.update(
            item.nodeid for item in items if item.get_closest_marker(INTEGRATION_MARKER)
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid not in self.state.integration_nodeids:
            return
        outcomes = self.state.outcomes
        if report.failed:
            outcomes[report.nodeid] = "failed"
        elif report.skipped and report.when in ("setup", "call"):
            outcomes[report.nodeid] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        elif report.passed and report.when == "call":
            outcomes[report.nodeid] = "passed"

    def counts(self) -> dict[Outcome, int]:
        counts: dict[Outcome, int] = {"passed": 0, "failed": 0, "skipped": 0, "xfailed": 0}
        for outcome in self.state.outcomes.values():
            counts[outcome] += 1
        return counts

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if _ci() and self.counts()["skipped"] and exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        state = self.state
        write = terminalreporter.write_line
        infra = state.infrastructure
        if infra is not None:
            write(f"real infrastructure: {_describe(infra, state)}")
        elif state.start_error is not None:
            write(f"real infrastructure: FAILED TO START: {state.start_error}", red=True, bold=True)

        if not state.outcomes:
            return
        counts = self.counts()
        line = (
            f"integration tests: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped"
        )
        if counts["xfailed"]:
            line += f", {counts['xfailed']} xfailed"
        write(line, red=bool(counts["failed"]), green=not counts["failed"])
        if counts["skipped"]:
            skipped = sorted(
                node for node, outcome in state.outcomes.items() if outcome == "skipped"
            )
            write(
                f"WARNING: {counts['skipped']} INTEGRATION TEST(S) SKIPPED, NOT RUN AGAINST REAL "
                f"SERVERS: {', '.join(skipped)}" + (" (CI is set: the run fails)" if _ci() else ""),
                red=True,
                bold=True,
            )


def _describe(infra: Infrastructure, state: _SessionState) -> str:
    if infra.kafka_version == "external":
        kafka = "Apache Kafka (external, version unknown)"
    else:
        kafka = f"Apache Kafka {infra.kafka_version} (KRaft)"
    if state.start_seconds is None:
        origin = "given by KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL"
    elif state.started_here:
        origin = f"started by deploy/local/infra.sh in {state.start_seconds:.1f} s"
    else:
        origin = "already running"
    return (
        f"{kafka} at {infra.kafka_bootstrap_servers}, PostgreSQL {infra.postgres_version} "
        f"at {_host_port(infra.database_url, 5432)} ({origin})"
    )


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no", "off")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(_Reporter(_state(config)), "tests-infrastructure-reporter")
