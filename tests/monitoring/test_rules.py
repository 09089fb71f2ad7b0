"""The alert rules and scrape targets, as rendered per tier: complete, actionable, on the table."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from .conftest import find, rules_of

# What the alerts must cover (issue of record: latency, errors, queue, volume, snapshots, replicas).
REQUIRED_ALERTS = {
    "SutraApiLatencyHigh",
    "SutraApiErrorRatioHigh",
    "SutraStorageQueueNearFull",
    "SutraStorageVolumeFilling",
    "SutraStorageSnapshotTooOld",
    "SutraBelowTierMinimum",
}
# Services that serve Prometheus metrics, with the Service port Prometheus scrapes.
# sutra-client (static nginx) exports none; sutra-control has no /metrics yet.
SCRAPED = {
    "storage-server": "metrics",
    "sutra-api": "http",
    "sutra-hybrid": "http",
    "sutra-control": "http",
}
_REPLICAS = re.compile(
    r"^kube_(?P<kind>deployment|statefulset)_status_replicas_(?:available|ready)"
    r'\{namespace="sutra-ai", (?P=kind)="(?P<name>[a-z0-9-]+)"\} < (?P<min>\d+)$'
)
_KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet"}
_SNAPSHOT_AGE = re.compile(
    r'^time\(\) - sutra_storage_last_snapshot_timestamp_seconds\{namespace="sutra-ai"\}'
    r" > (?P<seconds>\d+)$"
)
TIER_RULE = "sutra-tier-alerts"


@pytest.mark.parametrize("tier", ["low", "medium", "high"])
def test_every_alert_pages_with_a_summary_and_a_runbook(tiers, tier: str) -> None:
    alerts = [r for r in rules_of(tiers[tier]) if "alert" in r]
    assert {r["alert"] for r in alerts} >= REQUIRED_ALERTS
    for rule in alerts:
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule.get("for"), f"{name}: a `for` keeps one bad scrape from paging"
        for key in ("summary", "runbook"):
            text = rule["annotations"][key]
            assert text.strip() and "\n" not in text, f"{name}: one-line {key}"
        assert len(rule["annotations"]["runbook"]) > 40, f"{name}: say what to check or do"
        if name in REQUIRED_ALERTS:
            assert rule["labels"]["severity"] == "critical", f"{name} must page"


def test_the_latency_alert_fires_on_p95_over_500_ms_for_5_minutes(tiers) -> None:
    (rule,) = [r for r in rules_of(tiers["low"]) if r.get("alert") == "SutraApiLatencyHigh"]
    expr = " ".join(rule["expr"].split())
    assert expr.startswith("histogram_quantile(0.95, ")
    assert expr.endswith("> 0.5")
    assert rule["for"] == "5m"


def minimums_in_rules(objects: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """(kind, workload) -> the fewest ready pods the tier's replica alert accepts."""
    found: dict[tuple[str, str], int] = {}
    for rule in rules_of(objects):
        if rule.get("alert") != "SutraBelowTierMinimum":
            continue
        match = _REPLICAS.match(rule["expr"])
        assert match, rule["expr"]
        key = (_KINDS[match["kind"]], match["name"])
        assert key not in found, key
        assert rule["labels"]["workload"] == match["name"]
        found[key] = int(match["min"])
    return found


def minimums_in_table(table: dict[str, Any], tier: str) -> dict[tuple[str, str], int]:
    return {
        (w["kind"], name): w["hpa"]["min"] if "hpa" in w else w["replicas"]
        for name, w in table["tiers"][tier]["workloads"].items()
    }


@pytest.mark.parametrize("tier", ["low", "medium", "high"])
def test_the_replica_alerts_use_the_tier_tables_minimums(tiers, tier_table, tier: str) -> None:
    assert minimums_in_rules(tiers[tier]) == minimums_in_table(tier_table, tier)


def test_a_replica_alert_off_the_table_is_caught(tiers, tier_table) -> None:
    objects = copy.deepcopy(tiers["high"])
    rule = find(objects, "PrometheusRule", TIER_RULE)["spec"]["groups"][0]["rules"][1]
    assert "sutra-api" in rule["expr"]
    rule["expr"] = rule["expr"].replace("< 20", "< 3")  # low's minimum, copied by mistake
    found = minimums_in_rules(objects)
    assert found != minimums_in_table(tier_table, "high")
    assert found[("Deployment", "sutra-api")] == 3


def snapshot_ages_in_rules(objects: list[dict[str, Any]]) -> dict[str, int]:
    """PrometheusRule -> the snapshot age in seconds at which its snapshot-too-old alert fires."""
    found: dict[str, int] = {}
    for rule in rules_of(objects):
        if rule.get("alert") != "SutraStorageSnapshotTooOld":
            continue
        match = _SNAPSHOT_AGE.match(" ".join(str(rule["expr"]).split()))
        assert match, rule["expr"]
        assert rule["object"] not in found, rule["object"]
        found[rule["object"]] = int(match["seconds"])
    return found


def snapshot_age_in_table(table: dict[str, Any], tier: str) -> dict[str, int]:
    return {TIER_RULE: table["tiers"][tier]["backups"]["max_age_minutes"] * 60}


@pytest.mark.parametrize("tier", ["low", "medium", "high"])
def test_the_snapshot_age_alert_uses_the_tier_tables_max_age(tiers, tier_table, tier: str) -> None:
    """One alert per tier, in the tier's rule (none left in base), at backups.max_age_minutes."""
    assert snapshot_ages_in_rules(tiers[tier]) == snapshot_age_in_table(tier_table, tier)


def test_a_snapshot_age_off_the_table_is_caught(tiers, tier_table) -> None:
    objects = copy.deepcopy(tiers["high"])
    (rule,) = find(objects, "PrometheusRule", TIER_RULE)["spec"]["groups"][1]["rules"]
    assert rule["alert"] == "SutraStorageSnapshotTooOld"
    rule["expr"] = rule["expr"].replace("> 7200", "> 97200")  # low's age, copied by mistake
    assert snapshot_ages_in_rules(objects) == {TIER_RULE: 97200}
    assert snapshot_ages_in_rules(objects) != snapshot_age_in_table(tier_table, "high")

    # A second copy left in base (with the right number) is caught too.
    objects = copy.deepcopy(tiers["high"])
    (rule,) = find(objects, "PrometheusRule", TIER_RULE)["spec"]["groups"][1]["rules"]
    find(objects, "PrometheusRule", "sutra-alerts")["spec"]["groups"][0]["rules"].append(rule)
    assert snapshot_ages_in_rules(objects) != snapshot_age_in_table(tier_table, "high")


@pytest.mark.parametrize("tier", ["low", "medium", "high"])
def test_each_metrics_service_has_a_service_monitor(tiers, tier: str) -> None:
    objects = tiers[tier]
    monitors = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceMonitor"}
    assert set(monitors) == set(SCRAPED)
    for name, port in SCRAPED.items():
        service = find(objects, "Service", name)
        monitor = monitors[name]
        assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
        selector = monitor["spec"]["selector"]["matchLabels"]
        selected = [
            s["metadata"]["name"]
            for s in objects
            if s["kind"] == "Service"
            and all(s["metadata"]["labels"].get(k) == v for k, v in selector.items())
        ]
        assert selected == [name]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["port"] == port
        assert port in {p["name"] for p in service["spec"]["ports"]}
        assert endpoint["path"] == "/metrics"


@pytest.mark.parametrize("tier", ["low", "medium", "high"])
def test_prometheus_may_reach_every_scraped_port(tiers, tier: str) -> None:
    """Ingress from the monitoring namespace to each scraped container port (default deny
    blocks everything else)."""
    objects = tiers[tier]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    for name, port_name in SCRAPED.items():
        service = find(objects, "Service", name)
        (port,) = [p for p in service["spec"]["ports"] if p["name"] == port_name]
        workload = next(
            o for o in objects if o["kind"] in ("Deployment", "StatefulSet")
            and o["metadata"]["name"] == name
        )  # fmt: skip
        container_ports = {
            p["name"]: p["containerPort"]
            for c in workload["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
        }
        number = container_ports[port["targetPort"]]
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert _monitoring_admitted(policies, labels, number), (name, number)


def _monitoring_admitted(policies: list[dict[str, Any]], labels: dict[str, str], port: int) -> bool:
    monitoring = {"kubernetes.io/metadata.name": "monitoring"}
    for policy in policies:
        if not _selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("ingress") or []:
            ports = {p.get("port") for p in rule.get("ports") or []}
            if ports and port not in ports:
                continue
            for peer in rule.get("from") or []:
                namespaces = peer.get("namespaceSelector")
                whole_namespace = namespaces is not None and "podSelector" not in peer
                if whole_namespace and _selects(namespaces, monitoring):
                    return True
    return False


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if not selector:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for e in selector.get("matchExpressions") or []:
        present = e["key"] in labels and labels[e["key"]] in e.get("values", [])
        if {"In": not present, "NotIn": present}[e["operator"]]:
            return False
    return True


def test_a_policy_without_the_monitoring_namespace_blocks_the_scrape(tiers) -> None:
    objects = copy.deepcopy(tiers["low"])
    policy = find(objects, "NetworkPolicy", "sutra-hybrid")
    for rule in policy["spec"]["ingress"]:
        rule["from"] = [p for p in rule["from"] if "namespaceSelector" not in p]
    labels = find(objects, "Deployment", "sutra-hybrid")["spec"]["template"]["metadata"]["labels"]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert not _monitoring_admitted(policies, labels, 8001)
