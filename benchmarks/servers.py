"""The PostgreSQL server and Kafka broker the benchmarks run against, and throwaway parts of them.

With ``DATABASE_URL`` and ``KAFKA_BOOTSTRAP_SERVERS`` set, those servers are used as they are.
Otherwise ``deploy/local/infra.sh up`` starts a local pair (honouring its ``INFRA_*``
variables, so a benchmark can stay clear of servers others run) and ``down`` stops it again,
but only when this run started it. Every benchmark works in databases and topics of its own,
dropped when it ends, so runs never see each other's data.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.config import async_database_url
from shared.persistence.engine import create_engine
from shared.persistence.migrations import upgrade

INFRA_SCRIPT = Path(__file__).resolve().parent.parent / "deploy" / "local" / "infra.sh"
TOPIC_ALREADY_EXISTS = 36


@dataclass(frozen=True)
class Servers:
    database_url: str
    """``postgresql://…`` of a database the benchmarks may create other databases from."""
    kafka_bootstrap_servers: str


class ServersUnavailable(RuntimeError):
    """Neither given by the environment nor startable with deploy/local/infra.sh."""


def _infra(command: str) -> subprocess.CompletedProcess[str]:
    if not INFRA_SCRIPT.exists():
        raise ServersUnavailable(
            "set DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS: deploy/local/infra.sh is only in a "
            "checkout of the repository"
        )
    return subprocess.run(
        [str(INFRA_SCRIPT), command],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
        timeout=900,
    )


def _exports(stdout: str) -> dict[str, str]:
    return {
        name.strip(): value.strip().strip("'\"")
        for line in stdout.splitlines()
        if line.startswith("export ") and "=" in line
        for name, value in [line.removeprefix("export ").split("=", 1)]
    }


@contextmanager
def servers() -> Iterator[Servers]:
    """The servers to benchmark against: given by the environment, or started (and stopped)."""
    database_url = os.environ.get("DATABASE_URL")
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if database_url and bootstrap:
        yield Servers(database_url, bootstrap)
        return
    already_running = _infra("status").returncode == 0
    print("starting PostgreSQL and Kafka with deploy/local/infra.sh …", file=sys.stderr)
    started = _infra("up")
    exports = _exports(started.stdout)
    if started.returncode != 0 or not {"DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS"} <= set(exports):
        raise ServersUnavailable(f"deploy/local/infra.sh up failed:\n{started.stderr[-3000:]}")
    try:
        yield Servers(exports["DATABASE_URL"], exports["KAFKA_BOOTSTRAP_SERVERS"])
    finally:
        if not already_running:
            print("stopping the PostgreSQL and Kafka this run started …", file=sys.stderr)
            _infra("down")


def plain_url(url: str) -> str:
    """``postgresql://…`` for asyncpg and for the services' ``DATABASE_URL``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(plain_url(url))._replace(path=f"/{name}"))


@asynccontextmanager
async def fresh_database(server: Servers, migrated: bool = True) -> AsyncIterator[str]:
    """A new database (``postgresql://`` URL), migrated unless asked not to, dropped at the end."""
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin_url = plain_url(server.database_url)
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(admin_url, name)
    try:
        if migrated:
            engine = create_engine(async_database_url(url))
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()
        yield url
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def analyze(url: str) -> None:
    """Gather the planner's statistics of every table, as autovacuum would have on a server
    running for a while: a fresh database loaded seconds ago has none, and a plan made on
    guessed sizes can cost a hundred times the right one for as long as it is cached."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def topic_prefix() -> str:
    return f"bench-{uuid.uuid4().hex[:10]}."


async def create_topics(bootstrap: str, names: Iterable[str], partitions: int) -> None:
    """Create the topics and wait until each partition has a leader."""
    wanted = list(dict.fromkeys(names))
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        await admin.start()
        response = await admin.create_topics([NewTopic(name, partitions, 1) for name in wanted])
        failed = [e for e in response.topic_errors if e[1] not in (0, TOPIC_ALREADY_EXISTS)]
        if failed:
            raise RuntimeError(f"could not create topics: {failed}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            described = await admin.describe_topics(wanted)
            if all(
                topic["error_code"] == 0
                and len(topic["partitions"]) == partitions
                and all(p["leader"] >= 0 for p in topic["partitions"])
                for topic in described
            ):
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"topics {wanted} have no leaders after 30 s")
    finally:
        await admin.close()


@asynccontextmanager
async def fresh_topics(
    server: Servers, names: Iterable[str], partitions: int
) -> AsyncIterator[None]:
    """New topics for one benchmark run, deleted at the end."""
    wanted = list(names)
    await create_topics(server.kafka_bootstrap_servers, wanted, partitions)
    try:
        yield
    finally:
        admin = AIOKafkaAdminClient(bootstrap_servers=server.kafka_bootstrap_servers)
        try:
            await admin.start()
            await admin.delete_topics(wanted)
        finally:
            await admin.close()
