"""The alert rules and scrape targets, as rendered per tier: complete, actionable, on the table.

The per-tier rules are generated from the table (`sutra alerts generate`, tested for staleness
in test_tier_alerts.py); these tests read the rendered tiers, so they check what the generator
wrote as Prometheus will load it.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from sutra.gitops import shards, tiers
from sutra.gitops.paths import TIERS

from .conftest import REPO_ROOT, find, rules_of

TABLE = tiers.load(REPO_ROOT)

# What the alerts must cover, each paging (critical): latency, errors, queue, volume, snapshots
# (the server's and the CronJob's view), replicas.
REQUIRED_ALERTS = {
    "SutraApiLatencyHigh",
    "SutraApiErrorRatioHigh",
    "SutraStorageQueueNearFull",
    "SutraStorageVolumeFilling",
    "SutraStorageSnapshotTooOld",
    "SutraStorageSnapshotJobFailing",
    "SutraBelowTierMinimum",
}
# Services that serve Prometheus metrics, with the Service port Prometheus scrapes.
# sutra-client (static nginx) exports none.
SCRAPED = {
    "storage-server": "metrics",
    "sutra-api": "http",
    "sutra-hybrid": "http",
    "sutra-control": "http",
}


def scraped_in(table: dict[str, Any], tier: str) -> dict[str, str]:
    """SCRAPED, and the read followers' metrics where the tier runs them; every storage shard's
    as shard 0's."""
    followers = table["storage"]["replication"]["followers"]
    extra = {followers: "metrics"} if followers in table["tiers"][tier]["workloads"] else {}
    stores = {table["storage"]["workload"], followers}
    every = {**SCRAPED, **extra}
    return every | {
        shards.name(name, i): port
        for name, port in every.items()
        if name in stores
        for i in range(1, shards.count(table, tier))
    }


# A missing series (a deleted workload, kube-state-metrics not reporting) must count as 0 pods.
_REPLICAS = re.compile(
    r"^\(kube_(?P<kind>deployment|statefulset)_status_replicas_(?:available|ready)"
    r'\{namespace="sutra-ai", (?P=kind)="(?P<name>[a-z0-9-]+)"\} or on\(\) vector\(0\)\)'
    r" < (?P<min>\d+)$"
)
_KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet"}
# A sharded tier's alerts select every shard's object: `label=~"a|a-1|..."`.
_CRONJOB = r'\{namespace="sutra-ai", cronjob=~?"(?P<cronjob>[a-z0-9|-]+)"\}'
# alert -> its expression (whitespace collapsed), with the age in seconds at which it fires.
_SNAPSHOT_AGE = {
    "SutraStorageSnapshotTooOld": re.compile(
        r"^time\(\) - sutra_storage_last_snapshot_timestamp_seconds"
        r'\{namespace="sutra-ai", job=~?"(?P<job>[a-z0-9|-]+)"\} > (?P<seconds>\d+)$'
    ),
    # The CronJob's last success, or its creation while it has none (a new tier).
    "SutraStorageSnapshotJobFailing": re.compile(
        rf"^time\(\) - \( kube_cronjob_status_last_successful_time{_CRONJOB}"
        rf" or kube_cronjob_created{_CRONJOB.replace('<cronjob>', '<created>')} \)"
        r" > (?P<seconds>\d+)$"
    ),
}
_CLAIM = r'\{namespace="sutra-ai", persistentvolumeclaim=~?"(?P<claim>[a-z0-9|-]+)"\}'
# The free share at the last kubelet report within the window (a Job's volume is reported only
# while the Job's pod mounts it), whatever node reported it.
_SNAPSHOT_VOLUME = re.compile(
    r"^last_over_time\(\( max by \(namespace, persistentvolumeclaim\) \("
    rf" kubelet_volume_stats_available_bytes{_CLAIM}"
    rf" / kubelet_volume_stats_capacity_bytes{_CLAIM.replace('<claim>', '<capacity>')} \)"
    r" \)\[(?P<minutes>\d+)m:1m\]\) < (?P<free>0\.\d+)$"
)
TIER_RULE = "sutra-tier-alerts"
# Probes and scrapes answer fast and never fail with 5xx: user-traffic signals leave them out.
PROBE_ROUTES = 'route!~"/health|/ready|/metrics"'
API_TRAFFIC = ("sutra_api_requests_total", "sutra_api_request_duration_seconds_bucket")


def _one_line(expr: Any) -> str:
    return " ".join(str(expr).split())


@pytest.mark.parametrize("tier", TIERS)
def test_every_alert_pages_with_a_summary_and_a_description(tiers, tier: str) -> None:
    alerts = [r for r in rules_of(tiers[tier]) if "alert" in r]
    assert {r["alert"] for r in alerts} >= REQUIRED_ALERTS
    for rule in alerts:
        name = rule["alert"]
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        assert rule.get("for"), f"{name}: a `for` keeps one bad scrape from paging"
        for key in ("summary", "description"):
            text = rule["annotations"][key]
            assert text.strip() and "\n" not in text, f"{name}: one-line {key}"
        assert len(rule["annotations"]["description"]) > 40, f"{name}: say what to check or do"
        assert "{{" not in rule["annotations"]["description"], (
            f"{name}: static (the summary has values)"
        )
        if name in REQUIRED_ALERTS:
            assert rule["labels"]["severity"] == "critical", f"{name} must page"


def test_the_latency_alert_fires_on_p95_over_500_ms_for_5_minutes(tiers) -> None:
    (rule,) = [r for r in rules_of(tiers["low"]) if r.get("alert") == "SutraApiLatencyHigh"]
    expr = _one_line(rule["expr"])
    assert expr.startswith("histogram_quantile(0.95, ")
    assert expr.endswith("> 0.5")
    assert rule["for"] == "5m"


def probe_selectors(expr: str) -> list[str]:
    """Every selector of the API's request metrics in `expr` that counts probes and scrapes."""
    names = "|".join(API_TRAFFIC)
    return [
        f"{name}{{{matchers}}}"
        for name, matchers in re.findall(rf"\b({names})\{{([^}}]*)\}}", expr)
        if PROBE_ROUTES not in matchers
    ] + re.findall(rf"\b(?:{names})\b(?!\{{)", expr)


def _api_traffic_queries(objects: list[dict[str, Any]]) -> dict[str, str]:
    """alert or adapter metric -> its query, for every query on the API's request metrics."""
    queries = {
        r["alert"]: _one_line(r["expr"])
        for r in rules_of(objects)
        if any(name in str(r["expr"]) for name in API_TRAFFIC)
    }
    adapter = [o for o in objects if o["metadata"]["name"] == "sutra-prometheus-adapter"]
    for config in adapter:
        for rule in yaml.safe_load(config["data"]["config.yaml"])["rules"]:
            query = rule["metricsQuery"].replace("<<.Series>>", rule["seriesQuery"].split("{")[0])
            queries[rule["name"]["as"]] = _one_line(query)
    return queries


@pytest.mark.parametrize("tier", TIERS)
def test_traffic_alerts_and_adapter_queries_leave_out_probes(tiers, tier: str) -> None:
    """Both sums of the error ratio, the latency quantile and the adapter's queries: at low
    traffic, steady 200s from probes would dilute a real 5xx rate below the threshold."""
    queries = _api_traffic_queries(tiers[tier])
    assert {"SutraApiErrorRatioHigh", "SutraApiLatencyHigh"} <= set(queries)
    assert {q: probe_selectors(e) for q, e in queries.items()} == {q: [] for q in queries}
    ratio = queries["SutraApiErrorRatioHigh"]
    assert ratio.count(PROBE_ROUTES) == 2, ratio


def test_an_error_ratio_counting_probes_is_caught(tiers) -> None:
    objects = copy.deepcopy(tiers["low"])
    (rule,) = [
        r
        for r in find(objects, "PrometheusRule", "sutra-alerts")["spec"]["groups"][0]["rules"]
        if r["alert"] == "SutraApiErrorRatioHigh"
    ]
    numerator, denominator = rule["expr"].split("/ sum(")
    rule["expr"] = numerator + "/ sum(" + denominator.replace(f", {PROBE_ROUTES}", "")
    found = probe_selectors(_one_line(rule["expr"]))
    assert found == ['sutra_api_requests_total{namespace="sutra-ai"}']


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
        for name, w in shards.workloads(table, tier).items()
    }


def every_shard(base: str, total: int) -> str:
    """What a tier's alert selects: BASE, or every shard's (a regex) in a sharded tier."""
    return "|".join(shards.name(base, i) for i in range(total))


@pytest.mark.parametrize("tier", TIERS)
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


def test_a_replica_alert_silent_on_a_missing_series_is_caught(tiers) -> None:
    """Without `or on() vector(0)`, a deleted Deployment has no series and never pages."""
    objects = copy.deepcopy(tiers["high"])
    rule = find(objects, "PrometheusRule", TIER_RULE)["spec"]["groups"][0]["rules"][1]
    rule["expr"] = rule["expr"].replace("(", "", 1).replace(" or on() vector(0))", "")
    assert rule["expr"].startswith("kube_deployment_status_replicas_available{")
    with pytest.raises(AssertionError, match="kube_deployment_status_replicas_available"):
        minimums_in_rules(objects)


def snapshot_ages_in_rules(objects: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """(alert, PrometheusRule) -> the snapshot age in seconds at which the alert fires, for the
    server's gauge and the CronJob's last success."""
    found: dict[tuple[str, str], int] = {}
    for rule in rules_of(objects):
        pattern = _SNAPSHOT_AGE.get(rule.get("alert", ""))
        if pattern is None:
            continue
        match = pattern.match(_one_line(rule["expr"]))
        assert match, rule["expr"]
        if "cronjob" in pattern.groupindex:
            assert match["cronjob"] == match["created"], rule["expr"]
            assert shards.unsharded(TABLE, match["cronjob"].split("|")[0]) == "storage-snapshot"
        else:
            assert match["job"].split("|")[0] == "storage-server", rule["expr"]
        key = (rule["alert"], rule["object"])
        assert key not in found, key
        found[key] = int(match["seconds"])
    return found


def snapshot_age_in_table(table: dict[str, Any], tier: str) -> dict[tuple[str, str], int]:
    seconds = table["tiers"][tier]["backups"]["max_age_minutes"] * 60
    return {(alert, TIER_RULE): seconds for alert in _SNAPSHOT_AGE}


@pytest.mark.parametrize("tier", TIERS)
def test_the_snapshot_age_alerts_use_the_tier_tables_max_age(tiers, tier_table, tier: str) -> None:
    """One alert of each per tier, in the tier's rule (none left in base), at
    backups.max_age_minutes: a failed commit leaves the server's gauge moved, not the CronJob's."""
    assert snapshot_ages_in_rules(tiers[tier]) == snapshot_age_in_table(tier_table, tier)


def test_a_snapshot_age_off_the_table_is_caught(tiers, tier_table) -> None:
    objects = copy.deepcopy(tiers["high"])
    rules = find(objects, "PrometheusRule", TIER_RULE)["spec"]["groups"][1]["rules"]
    assert [r["alert"] for r in rules[:2]] == list(_SNAPSHOT_AGE)
    rules[1]["expr"] = rules[1]["expr"].replace("> 7200", "> 97200")  # low's age, by mistake
    found = snapshot_ages_in_rules(objects)
    assert found[("SutraStorageSnapshotJobFailing", TIER_RULE)] == 97200
    assert found != snapshot_age_in_table(tier_table, "high")

    # A second copy left in base (with the right number) is caught too.
    objects = copy.deepcopy(tiers["high"])
    rule = find(objects, "PrometheusRule", TIER_RULE)["spec"]["groups"][1]["rules"][0]
    find(objects, "PrometheusRule", "sutra-alerts")["spec"]["groups"][0]["rules"].append(rule)
    assert snapshot_ages_in_rules(objects) != snapshot_age_in_table(tier_table, "high")


def snapshot_volume_alert(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The snapshot volume alert's claim, window (minutes) and free share, one per tier."""
    (rule,) = [r for r in rules_of(objects) if r["alert"] == "SutraStorageSnapshotVolumeFilling"]
    match = _SNAPSHOT_VOLUME.match(_one_line(rule["expr"]))
    assert match, rule["expr"]
    assert match["claim"] == match["capacity"], rule["expr"]
    return {"claim": match["claim"], "minutes": int(match["minutes"]), "free": match["free"]}


@pytest.mark.parametrize("tier", TIERS)
def test_the_snapshot_alerts_watch_the_tiers_cronjob_and_its_claim(
    tiers, tier_table, tier: str
) -> None:
    """The CronJob the age alert names exists and writes to the claim the volume alert watches;
    the kubelet's last report within the tier's max age counts (the claim is mounted only while
    a run lasts)."""
    objects = tiers[tier]
    total = shards.count(tier_table, tier)
    for i in range(total):  # each storage shard's job, onto its own claim
        cronjob = find(objects, "CronJob", shards.name("storage-snapshot", i))
        pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]
                  if "persistentVolumeClaim" in v]  # fmt: skip
        assert claims == [shards.name("storage-snapshots", i)]
        find(objects, "PersistentVolumeClaim", shards.name("storage-snapshots", i))
    max_age = tier_table["tiers"][tier]["backups"]["max_age_minutes"]
    claim = every_shard("storage-snapshots", total)
    assert snapshot_volume_alert(objects) == {
        "claim": claim, "minutes": max_age, "free": "0.2"}  # fmt: skip
    (rule,) = [r for r in rules_of(objects) if r["alert"] == "SutraStorageSnapshotVolumeFilling"]
    assert rule["labels"]["severity"] == "warning"  # a failed run pages through the job alert
    assert "--keep" in rule["annotations"]["description"]


def test_a_snapshot_volume_alert_on_another_claim_is_caught(tiers) -> None:
    objects = copy.deepcopy(tiers["low"])
    (rule,) = [r for r in rules_of(objects) if r["alert"] == "SutraStorageSnapshotVolumeFilling"]
    rules = find(objects, "PrometheusRule", TIER_RULE)["spec"]["groups"][1]["rules"]
    (original,) = [r for r in rules if r["alert"] == rule["alert"]]
    original["expr"] = original["expr"].replace('"storage-snapshots"', '"storage-data"', 1)
    with pytest.raises(AssertionError):
        snapshot_volume_alert(objects)
    original["expr"] = original["expr"].replace('"storage-snapshots"', '"storage-data"')
    assert snapshot_volume_alert(objects)["claim"] == "storage-data"


@pytest.mark.parametrize("tier", TIERS)
def test_each_metrics_service_has_a_service_monitor(tiers, tier_table, tier: str) -> None:
    objects = tiers[tier]
    monitors = {o["metadata"]["name"]: o for o in objects if o["kind"] == "ServiceMonitor"}
    scraped = scraped_in(tier_table, tier)
    assert set(monitors) == set(scraped)
    for name, port in scraped.items():
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


@pytest.mark.parametrize("tier", TIERS)
def test_prometheus_may_reach_every_scraped_port(tiers, tier_table, tier: str) -> None:
    """Ingress from the monitoring namespace to each scraped container port (default deny
    blocks everything else)."""
    objects = tiers[tier]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    for name, port_name in scraped_in(tier_table, tier).items():
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
