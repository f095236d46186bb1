"""The alert rules and dashboards in deploy/observability parse, every metric they query is one
DZDesk exports (shared/metrics.py or a service) or one RabbitMQ exports, every DZDesk metric is
on a dashboard, and DZDesk's metric names follow Prometheus' conventions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml
from deploy_test_support import OBSERVABILITY, REPO

RULE_FILES = sorted((OBSERVABILITY / "prometheus").glob("*.rules.yaml"))
RULE_TESTS = OBSERVABILITY / "prometheus" / "dzdesk.rules.test.yaml"
DASHBOARDS = sorted((OBSERVABILITY / "grafana").glob("*.json"))
# From RabbitMQ's rabbitmq_prometheus plugin (per-object metrics), not from DZDesk.
RABBITMQ_METRICS = {"rabbitmq_queue_messages"}
CONCERNS = {
    "http": "dzdesk-http",
    "relay": "dzdesk-relay",
    "dead-letters": "dzdesk-dead-letters",
    "dependencies": "dzdesk-dependencies",
    "privacy": "dzdesk-privacy",
    "audit": "dzdesk-audit",
    "sla": "dzdesk-sla",
}

_DECLARED = re.compile(
    r"prometheus_client\.(Counter|Gauge|Histogram|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"", re.S
)
# what a collector reports at scrape time (shared.metrics.PoolCollector)
_COLLECTED = re.compile(r"(Counter|Gauge)MetricFamily\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"", re.S)
_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
}


def declared_metrics() -> dict[str, str]:
    """Metric name -> type, for every prometheus_client metric in shared/ and services/."""
    found = {}
    for path in [*(REPO / "shared").rglob("*.py"), *(REPO / "services").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        for kind, name in [*_DECLARED.findall(text), *_COLLECTED.findall(text)]:
            found[name] = kind.lower()
    return found


def exposed_series(metrics: dict[str, str]) -> set[str]:
    """The series names Prometheus sees for those metrics."""
    names = set()
    for name, kind in metrics.items():
        names.add(name)
        if kind in ("histogram", "summary"):
            names |= {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (functions, keywords, labels excluded)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"(?<![a-zA-Z0-9_:])\d+(\.\d+)?(e[+-]?\d+|ms|[smhdwy])?", "", text)  # numbers
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        word = match.group(0)
        rest = text[match.end() :].lstrip()
        if rest.startswith("(") or word.lower() in _KEYWORDS:
            continue
        names.add(word)
    return names


def rules(path):
    return [rule for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]]


def dashboard_exprs(board):
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield panel, target["expr"].replace("$service", "x")


def test_the_expression_parser_finds_metrics_not_functions_or_labels():
    expr = (
        'sum by (service) (rate(dzdesk_http_requests_total{status=~"5.."}[5m])) '
        "/ on (service) group_left max(dzdesk_dependency_up offset 5m) > 0.05"
    )
    assert metric_names(expr) == {"dzdesk_http_requests_total", "dzdesk_dependency_up"}


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.name)
def test_each_rule_file_is_well_formed(path):
    document = yaml.safe_load(path.read_text())
    assert set(document) == {"groups"}
    group_names = [group["name"] for group in document["groups"]]
    assert len(group_names) == len(set(group_names))
    alerts = [rule["alert"] for rule in rules(path)]
    assert len(alerts) == len(set(alerts))
    for rule in rules(path):
        assert set(rule) <= {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
        assert re.fullmatch(r"DZDesk[A-Za-z0-9]+", rule["alert"])
        assert rule["expr"].strip()
        if "for" in rule:
            assert re.fullmatch(r"\d+[smh]", rule["for"])
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_no_alert_is_defined_twice_across_files():
    alerts = [rule["alert"] for path in RULE_FILES for rule in rules(path)]
    assert len(alerts) == len(set(alerts))


def test_the_rules_query_only_metrics_that_are_exported():
    known = exposed_series(declared_metrics()) | RABBITMQ_METRICS
    for path in RULE_FILES:
        for rule in rules(path):
            assert metric_names(rule["expr"]) <= known, rule["alert"]
            assert metric_names(rule["expr"]), rule["alert"]


def test_the_collectors_metrics_are_found_where_they_are_reported():
    assert {
        "dzdesk_db_pool_size",
        "dzdesk_db_pool_available",
        "dzdesk_db_pool_requests_waiting",
    } <= set(declared_metrics())


def test_every_dzdesk_metric_is_on_a_dashboard():
    used = set()
    for board in map(json.loads, map(lambda path: path.read_text(), DASHBOARDS)):
        used |= {name for _, expr in dashboard_exprs(board) for name in metric_names(expr)}
    for name, kind in declared_metrics().items():
        if kind == "histogram":
            assert f"{name}_bucket" in used, name
        else:
            assert name in used, name


@pytest.mark.parametrize(
    "concern", ["5xx", "relay", "dead-letter", "erasure", "audit verification", "sla"]
)
def test_every_concern_has_an_alert(concern):
    words = {
        "5xx": "5xx",
        "relay": "Relay",
        "dead-letter": "DeadLetter",
        "erasure": "Erasure",
        "audit verification": "AuditVerification",
        "sla": "Sla",
    }
    alerts = [rule["alert"] for path in RULE_FILES for rule in rules(path)]
    assert any(words[concern] in alert for alert in alerts)


def naming_problems(name: str, kind: str) -> list[str]:
    problems = []
    if not re.fullmatch(r"dzdesk_[a-z0-9_]+", name):
        problems.append("not dzdesk_ snake_case")
    if kind == "counter" and not name.endswith("_total"):
        problems.append("a counter ends in _total")
    if kind != "counter" and name.endswith("_total"):
        problems.append("only counters end in _total")
    if re.search(r"_(ms|milliseconds|millis|minutes|hours|duration|latency|time)$", name):
        problems.append("time is in _seconds")
    if kind == "histogram" and not name.endswith("_seconds") and "_bytes" not in name:
        problems.append("a histogram names its unit")
    return problems


def test_dzdesk_metric_names_follow_prometheus_conventions():
    metrics = declared_metrics()
    assert metrics
    problems = {name: naming_problems(name, kind) for name, kind in metrics.items()}
    assert {name: found for name, found in problems.items() if found} == {}


def test_the_naming_check_catches_a_bad_name():
    assert naming_problems("dzdesk_requests", "counter")
    assert naming_problems("dzdesk_latency_ms", "histogram")
    assert naming_problems("dzdesk_lag_total", "gauge")


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_each_dashboard_is_valid_json_whose_panels_query_known_metrics(path):
    board = json.loads(path.read_text())
    known = exposed_series(declared_metrics()) | RABBITMQ_METRICS
    assert board["uid"].startswith("dzdesk-") and board["title"].startswith("DZDesk / ")
    assert isinstance(board["schemaVersion"], int)
    assert board["panels"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["title"] and panel["type"] in {"timeseries", "stat", "gauge", "table"}
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        assert panel["targets"]
    for panel, expr in dashboard_exprs(board):
        names = metric_names(expr)
        assert names and names <= known, (panel["title"], names - known)


def test_there_is_a_dashboard_per_concern_and_an_alert_group_for_each():
    assert {path.stem for path in DASHBOARDS} == set(CONCERNS)
    groups = {
        group["name"] for path in RULE_FILES for group in yaml.safe_load(path.read_text())["groups"]
    }
    assert set(CONCERNS.values()) <= groups
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARDS]
    assert len(uids) == len(set(uids))


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
@pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.name)
def test_promtool_accepts_the_rules(path):
    result = subprocess.run(
        ["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_the_alerts_fire_on_the_series_that_should_trip_them():
    result = subprocess.run(
        ["promtool", "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
