"""The Grafana dashboard loads, uses only the provisioned data sources, and its queries parse.

That every metric it names is really exported, and that its SQL runs on the read models, is
proven against running services by test_metrics_exported.py.
"""

from __future__ import annotations

import re

import promql_parser
import pytest
import yaml

from shared.contracts.units import UnitLevel
from tests.deploy.artifacts import (
    DATASOURCES_FILE,
    alert_rules,
    dashboard,
    dashboard_promql,
    dashboard_sql,
    metric_names,
    panels,
)

PIPELINE_METRICS = {
    "events in and out": {"ingest_events_total", "projector_events_applied_total"},
    "consumer lag": {"ingest_consumer_lag", "projector_consumer_lag", "notifier_consumer_lag"},
    "dead letters": {"ingest_dead_letters_total", "projector_events_undecodable_total"},
    "outbox backlog": {"ingest_outbox_backlog", "projector_progress_outbox_backlog"},
    "notification failures": {"notifier_deliveries_total", "notifier_delivery_retries_total"},
    "read-model freshness": {"projector_read_model_age_seconds"},
}


def provisioned() -> dict[str, str]:
    """uid → type of every data source Grafana is provisioned with."""
    config = yaml.safe_load(DATASOURCES_FILE.read_text())
    return {source["uid"]: source["type"] for source in config["datasources"]}


def test_every_panel_uses_a_provisioned_data_source() -> None:
    sources = provisioned()
    board = dashboard()
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        for target in [panel, *panel["targets"]]:
            source = target["datasource"]
            assert sources[source["uid"]] == source["type"], panel["title"]
    assert len({panel["id"] for panel in panels(board)}) == len(list(panels(board)))


def test_the_read_model_password_comes_from_the_environment() -> None:
    config = yaml.safe_load(DATASOURCES_FILE.read_text())
    (reader,) = [s for s in config["datasources"] if s["uid"] == "read-models"]
    assert reader["secureJsonData"]["password"] == "${GRAFANA_DB_PASSWORD}"


@pytest.mark.parametrize(
    "expression", dashboard_promql(dashboard()) + [r["expr"] for r in alert_rules()]
)
def test_every_promql_expression_parses_and_names_its_metrics(expression: str) -> None:
    assert metric_names(expression)


def test_a_parse_error_is_not_silently_accepted() -> None:
    with pytest.raises(ValueError, match="unclosed left parenthesis"):
        promql_parser.parse("sum(rate(ingest_events_total[5m])")


def test_pipeline_health_is_covered() -> None:
    shown = set().union(*(metric_names(e) for e in dashboard_promql(dashboard())))
    for what, metrics in PIPELINE_METRICS.items():
        assert metrics <= shown, what


def test_campaign_progress_reads_the_views_with_defined_variables() -> None:
    board = dashboard()
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    sql = dashboard_sql(board)
    assert {"Top units by ratio (whole campaign)", "Units at risk (running phases)"} <= set(sql)
    for title, query in sql.items():
        assert re.search(r"FROM v_(progress|status)\b", query), title
        assert set(re.findall(r"\$(\w+)", query)) <= set(variables), title
    levels = [option["value"] for option in variables["level"]["options"]]
    assert sorted(levels) == sorted(level.value for level in UnitLevel)


def test_statuses_come_from_v_status_never_re_derived() -> None:
    """On track, at risk and missed have one meaning (shared/domain/progress.py, through the
    view v_status): a panel that judged the clock or the pace itself could disagree with it."""
    sql = dashboard_sql(dashboard())
    assert "status = 'at_risk'" in sql["Units at risk (running phases)"]
    assert "status = 'missed'" in sql["Missed targets (phases ended)"]
    for title, query in sql.items():
        assert not re.search(r"now\(\)|current_date|0\.9|ends_on\s*[<>]", query, re.I), title
