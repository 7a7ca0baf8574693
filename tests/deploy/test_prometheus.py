"""Prometheus' configuration and alert rules, checked by promtool (Debian's prometheus package):
the syntax, and scenarios in which each alert must fire, or stay quiet."""

from __future__ import annotations

import re

import yaml

from tests.deploy.artifacts import (
    PROMETHEUS_DIR,
    alert_rules,
    dashboard,
    dashboard_promql,
    run,
    tool,
)

REQUIRED_ALERTS = {
    "IngestLagGrowing",
    "ProjectorLagGrowing",
    "NotifierLagGrowing",
    "DeadLettersGrowing",
    "OutboxStuck",
    "DeliveriesFailing",
    "ReadModelStale",
}


def test_the_configuration_and_its_rule_files_are_valid() -> None:
    output = run([tool("promtool"), "check", "config", "prometheus.yml"], cwd=PROMETHEUS_DIR)
    assert "SUCCESS: 1 rule files found" in output


def test_the_alert_rules_are_valid() -> None:
    output = run([tool("promtool"), "check", "rules", "alerts.yml"], cwd=PROMETHEUS_DIR)
    assert f"SUCCESS: {len(alert_rules())} rules found" in output


def test_alerts_fire_in_their_scenarios_and_not_when_healthy() -> None:
    output = run([tool("promtool"), "test", "rules", "alerts.test.yml"], cwd=PROMETHEUS_DIR)
    assert "SUCCESS" in output


def test_the_pipeline_s_troubles_each_have_an_alert() -> None:
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} >= REQUIRED_ALERTS
    for rule in rules:
        assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]


def test_up_selectors_name_exactly_the_scraped_jobs() -> None:
    """``up`` is Prometheus' own series, so no scrape can prove it; its job names must be the
    scrape jobs of prometheus.yml (the services), or ServiceDown would watch nothing."""
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    expressions = dashboard_promql(dashboard()) + [rule["expr"] for rule in alert_rules()]
    matchers = [m for e in expressions for m in re.findall(r'up\{job=~"([^"]+)"\}', e)]
    assert matchers
    assert all(set(matcher.split("|")) == jobs for matcher in matchers)
