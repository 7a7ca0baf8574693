"""deploy/compose.yaml as Compose reads it: valid, and wired the way the services need.

Validity comes from ``docker-compose config`` (Debian's docker-compose, a Compose
implementation that checks the file against the Compose Specification schema it ships and
resolves anchors and variables), since no Docker engine or ``docker compose`` plugin exists here.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.artifacts import (
    PROMETHEUS_DIR,
    SERVICE_SETTINGS,
    compose_config,
    settings_variables,
    tool,
)

INITIATIVES = ["migrate", "ingest", "projector", "notifier", "api"]
LONG_RUNNING = [
    "postgres",
    "kafka",
    "ingest",
    "projector",
    "notifier",
    "api",
    "prometheus",
    "grafana",
]
JOBS = ["topics", "migrate"]


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    config: dict[str, Any] = compose_config()
    return dict(config["services"])


def http_port(service: dict[str, Any], name: str) -> int:
    """The port the service listens on: its HTTP_PORT variable, else the settings' default."""
    variable = f"INITIATIVES_{name.upper()}_HTTP_PORT"
    default = SERVICE_SETTINGS[name].model_fields["http_port"].default
    return int(service["environment"].get(variable, default))


def test_compose_refuses_what_the_specification_does_not_allow(tmp_path: Path) -> None:
    """A misspelt key must fail: the check above is worth only as much as this."""
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  api:\n    image: initiatives:0.1.0\n    restrat: always\n")
    result = subprocess.run(
        [tool("docker-compose"), "--file", str(broken), "config"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "restrat" in result.stderr


def test_compose_runs_every_part_of_the_system(services: dict[str, Any]) -> None:
    assert set(services) == set(LONG_RUNNING) | set(JOBS)


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_a_health_check_and_restart(
    services: dict[str, Any], name: str
) -> None:
    service = services[name]
    assert service["restart"] == "unless-stopped"
    assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL")
    assert "start_period" in service["healthcheck"]


@pytest.mark.parametrize("name", list(SERVICE_SETTINGS))
def test_health_checks_ask_readyz_on_the_port_the_service_listens_on(
    services: dict[str, Any], name: str
) -> None:
    service = services[name]
    probe = " ".join(service["healthcheck"]["test"])
    assert f"http://127.0.0.1:{http_port(service, name)}/readyz" in probe
    assert service["command"] == [name]


def test_jobs_run_once_and_the_services_wait_for_them(services: dict[str, Any]) -> None:
    assert services["migrate"]["command"] == ["migrate"]
    assert services["topics"]["entrypoint"][-2:] == [
        "/topics/create-topics.sh",
        "/topics/topics.tsv",
    ]
    for job in JOBS:
        assert services[job]["restart"] == "no"
    done = {"condition": "service_completed_successfully"}
    for name in ("ingest", "projector", "notifier"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == done, name
        assert depends["topics"] == done, name
        assert depends["kafka"] == {"condition": "service_healthy"}
    assert services["api"]["depends_on"]["migrate"] == done
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_kafka_runs_in_kraft_mode_without_automatic_topics(services: dict[str, Any]) -> None:
    environment = services["kafka"]["environment"]
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert services["kafka"]["image"].startswith("apache/kafka:4.1")


@pytest.mark.parametrize("name", INITIATIVES)
def test_every_variable_given_to_a_service_is_one_it_reads(
    services: dict[str, Any], name: str
) -> None:
    unknown = set(services[name]["environment"]) - settings_variables(name)
    assert not unknown, f"{name} does not read {sorted(unknown)}"


def test_prometheus_scrapes_every_service_where_it_listens(services: dict[str, Any]) -> None:
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    scraped = {
        job["job_name"]: target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    expected = {name: f"{name}:{http_port(services[name], name)}" for name in SERVICE_SETTINGS}
    assert scraped == expected
    assert config["rule_files"] == ["alerts.yml"]
