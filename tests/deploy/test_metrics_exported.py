"""Every metric the dashboard and the alert rules use is exported by the service it belongs to,
and every campaign panel's SQL runs on the real read models.

The four services run as separate processes (``initiatives ingest | projector | notifier |
api``) on real Kafka and PostgreSQL, configured with the environment compose.yaml gives them
(only addresses, ports and topic names are changed, so the test never collides with another).
Topics are created with the partitions and configs of deploy/kafka/topics.tsv. Portal events,
a malformed record on each input topic, and the seed cases flow through; then each service's
``/metrics`` is scraped and compared with the names in the PromQL.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from services.ingest.http import hash_api_key
from services.samples import seed_cases
from tests.deploy.artifacts import (
    PROMETHEUS_OWN_METRICS,
    SERVICE_SETTINGS,
    alert_rules,
    compose_config,
    dashboard,
    dashboard_promql,
    dashboard_sql,
    metric_names,
    topics,
)
from tests.infrastructure import Infrastructure, asyncpg_dsn, create_topics
from tests.kafka_tools import produce, wait_until
from tests.processes import free_port, service_process

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

PORTAL_KEY = "a-portal-key-for-the-deploy-test"
SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "unknown": ("",),
}
Scrape = dict[str, list[tuple[dict[str, str], float]]]
"""Sample name → its (labels, value) pairs; a declared family without samples maps to []."""


def parse(text: str) -> Scrape:
    """Every sample name a scrape exposes, including those of families that have no labelled
    child yet (a counter by code before the first dead letter is still exported)."""
    scrape: Scrape = {}
    for family in text_string_to_metric_families(text):
        for suffix in SAMPLE_SUFFIXES[family.type]:
            scrape.setdefault(family.name + suffix, [])
        for sample in family.samples:
            scrape.setdefault(sample.name, []).append((sample.labels, sample.value))
    return scrape


def total(scrape: Scrape, name: str) -> float:
    return sum(value for _, value in scrape.get(name, []))


async def create_deploy_topics(bootstrap: str, prefix: str) -> None:
    """The topics of topics.tsv (prefixed), with their partitions and configs: Kafka refuses
    an unknown config or a bad value, so this also checks the file."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(prefix + t.name, t.partitions, 1, topic_configs=t.configs) for t in topics()]
        )
    finally:
        await admin.close()
    assert [error for _, error, *_ in response.topic_errors if error] == []
    await create_topics(bootstrap, [prefix + t.name for t in topics()], partitions=3)


def environments(
    database_url: str, bootstrap: str, prefix: str, ports: dict[str, int]
) -> dict[str, dict[str, str]]:
    """compose.yaml's environment of each service, pointed at the test's servers and topics."""
    composed = compose_config()["services"]
    envs: dict[str, dict[str, str]] = {}
    for name, port in ports.items():
        env = {k: str(v) for k, v in composed[name]["environment"].items() if v is not None}
        env["DATABASE_URL"] = database_url
        if "KAFKA_BOOTSTRAP_SERVERS" in env:
            env["KAFKA_BOOTSTRAP_SERVERS"] = bootstrap
        own = f"INITIATIVES_{name.upper()}_"
        assert env[f"{own}HTTP_PORT"], f"compose sets no port for {name}"
        env[f"{own}HTTP_PORT"] = str(port)
        env[f"{own}HTTP_HOST"] = "127.0.0.1"
        envs[name] = env
    p = prefix
    envs["ingest"].update(
        INITIATIVES_INGEST_INPUT_TOPIC=f"{p}portal.submissions.v1",
        INITIATIVES_INGEST_EVENTS_TOPIC=f"{p}initiatives.events.v1",
        INITIATIVES_INGEST_CONSUMER_GROUP=f"{p}ingest",
        INITIATIVES_INGEST_BATCH_TIMEOUT_MS="50",
        INITIATIVES_INGEST_API_KEYS=json.dumps({"deploy-test": hash_api_key(PORTAL_KEY)}),
    )
    envs["projector"].update(
        INITIATIVES_PROJECTOR_EVENTS_TOPIC=f"{p}initiatives.events.v1",
        INITIATIVES_PROJECTOR_CHANGES_TOPIC=f"{p}progress.changes.v1",
        INITIATIVES_PROJECTOR_CONSUMER_GROUP=f"{p}projector",
        INITIATIVES_PROJECTOR_BATCH_TIMEOUT_MS="50",
    )
    envs["notifier"].update(
        INITIATIVES_NOTIFIER_CHANGES_TOPIC=f"{p}progress.changes.v1",
        INITIATIVES_NOTIFIER_CONSUMER_GROUP=f"{p}notifier",
        INITIATIVES_NOTIFIER_BATCH_TIMEOUT_MS="50",
    )
    return envs


class Services:
    """The running services: their ports, and their logs for a failure message."""

    def __init__(self, ports: dict[str, int], logs: dict[str, Path]) -> None:
        self.ports = ports
        self.logs = logs

    async def scrape(self, name: str) -> Scrape:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"http://127.0.0.1:{self.ports[name]}/metrics")
        response.raise_for_status()
        return parse(response.text)

    async def ready(self) -> bool:
        async with httpx.AsyncClient(timeout=5) as client:
            for port in self.ports.values():
                try:
                    response = await client.get(f"http://127.0.0.1:{port}/readyz")
                except httpx.TransportError:
                    return False
                if response.status_code != 200:
                    return False
        return True

    def tails(self) -> str:
        """The last lines each service logged, requests left out."""
        return "\n".join(
            f"--- {name}\n"
            + "\n".join(
                [
                    line
                    for line in path.read_text(errors="replace").splitlines()
                    if "uvicorn.access" not in line
                ][-15:]
            )
            for name, path in self.logs.items()
        )


async def until(
    services: Services, condition: Any, what: str, within: float = 90, seen: object = None
) -> None:
    try:
        await wait_until(condition, within=within, what=what)
    except TimeoutError as error:
        pytest.fail(f"{error}; last seen: {seen}\n{services.tails()}", pytrace=False)


def started(stack: ExitStack, envs: dict[str, dict[str, str]], folder: Path) -> Iterator[Path]:
    for name, env in envs.items():
        log = folder / f"{name}.log"
        stack.enter_context(service_process([name], env, log))
        yield log


async def test_every_metric_in_the_dashboard_and_alerts_is_exported_and_the_sql_runs(
    infrastructure: Infrastructure, postgres_url: str, kafka_topic_prefix: str, tmp_path: Path
) -> None:
    bootstrap, p = infrastructure.kafka_bootstrap_servers, kafka_topic_prefix
    await create_deploy_topics(bootstrap, p)
    ports = {name: free_port() for name in SERVICE_SETTINGS}
    envs = environments(postgres_url, bootstrap, p, ports)
    submissions = seed_cases.bac_kan_submissions(30, 10)
    events = seed_cases.hierarchy() + seed_cases.plans() + submissions

    with ExitStack() as stack:
        services = Services(ports, dict(zip(envs, started(stack, envs, tmp_path), strict=True)))
        await until(services, services.ready, "every service ready (/readyz)", within=120)
        async with httpx.AsyncClient(timeout=60) as client:
            body = "\n".join([*(json.dumps(e) for e in events), '{"event_id": "broken"'])
            response = await client.post(
                f"http://127.0.0.1:{ports['ingest']}/v1/events",
                content=body.encode(),
                headers={"X-API-Key": PORTAL_KEY, "Content-Type": "application/x-ndjson"},
            )
        assert response.json()["summary"] == {
            "accepted": len(events),
            "duplicate": 0,
            "rejected": 1,
            "parked": 0,
        }
        for topic in ("portal.submissions.v1", "initiatives.events.v1", "progress.changes.v1"):
            await produce(bootstrap, p + topic, [b"not a json record"])

        wanted = {
            "ingest_dead_letters_total": 1,
            "projector_events_applied_total": len(submissions),  # reference facts not counted
            "projector_events_undecodable_total": 1,
            "notifier_progress_changes_total": 1,
            "notifier_progress_changes_undecodable_total": 1,
        }
        seen: dict[str, float] = {}

        async def through() -> bool:
            for name in ("ingest", "projector", "notifier"):
                scrape = await services.scrape(name)
                seen.update(
                    {metric: total(scrape, metric) for metric in wanted if metric in scrape}
                )
                if name == "ingest":  # measured once the batch is acknowledged, after the count
                    seen["ingest_consumer_lag samples"] = len(scrape["ingest_consumer_lag"])
            return seen["ingest_consumer_lag samples"] > 0 and all(
                seen.get(metric, 0) >= least for metric, least in wanted.items()
            )

        await until(services, through, "events and dead letters through every service", seen=seen)
        scrapes = {name: await services.scrape(name) for name in SERVICE_SETTINGS}

    used = {
        name
        for expression in dashboard_promql(dashboard()) + [r["expr"] for r in alert_rules()]
        for name in metric_names(expression)
    } - PROMETHEUS_OWN_METRICS
    exported = set().union(*scrapes.values())
    assert used - exported == set(), "named in the dashboard or alerts, exported by no service"
    for name in used:
        owner = name.split("_", 1)[0]
        assert name in scrapes[owner], f"{name} is not exported by {owner}"
    lag = scrapes["ingest"]["ingest_consumer_lag"]
    assert {labels["topic"] for labels, _ in lag} == {f"{p}portal.submissions.v1"}
    assert total(scrapes["projector"], "projector_events_undecodable_total") == 1
    assert total(scrapes["ingest"], "ingest_outbox_backlog") == 0

    rows = await campaign_panels(postgres_url)
    top = rows["Top units by ratio (whole campaign)"]
    assert [(row["unit"], row["value"], row["target"], row["status"]) for row in top] == [
        ("LĐLĐ tỉnh Bắc Kạn", 40, 2025, "missed")
    ]
    missed = rows["Missed targets (phases ended)"]
    assert [(row["unit"], row["phase"], row["short by"]) for row in missed] == [
        ("LĐLĐ tỉnh Bắc Kạn", "Giai đoạn 3", 810),
        ("LĐLĐ tỉnh Bắc Kạn", "Giai đoạn 2", 540),
        ("LĐLĐ tỉnh Bắc Kạn", "Giai đoạn 1", 635),
    ]
    assert rows["Units at risk (running phases)"] == []  # the sample campaign is over
    assert set(rows) == set(dashboard_sql(dashboard()))


async def campaign_panels(database_url: str) -> dict[str, list[asyncpg.Record]]:
    """Each campaign panel's rows, with the dashboard's variables set as Grafana would: a
    query variable to the first value its query returns, a custom one to its current value."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        values: dict[str, str] = {}
        for variable in dashboard()["templating"]["list"]:
            if variable["type"] == "query":
                values[variable["name"]] = await connection.fetchval(variable["query"])
            else:
                values[variable["name"]] = variable["current"]["value"]
        rows = {}
        for title, sql in dashboard_sql(dashboard()).items():
            query = re.sub(r"\$(\w+)", lambda match: values[match.group(1)], sql)
            rows[title] = await connection.fetch(query)
        return rows
    finally:
        await connection.close()
