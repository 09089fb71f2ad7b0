"""Every metric an alert or the HPA's adapter rules read is one the services really export.

The storage server, sutra-hybrid and sutra-api run as real processes on 127.0.0.1 and serve a
few requests; their /metrics pages are the reference. Only the metrics other producers export
in the cluster (Prometheus, kube-state-metrics) are listed here, each with its producer.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from sutra.common.exposition import sample_value, series_names
from sutra.common.testing import HttpService, free_port, run_http_service
from sutra.storage.testing import run_server

from .conftest import find, rules_of
from .promql import metric_names

# Named by alerts but exported by something other than a Sutra service.
EXTERNAL_METRICS = {
    "up": "Prometheus, for every scrape target (1 when the last scrape succeeded)",
    "kube_deployment_status_replicas_available": "kube-state-metrics",
    "kube_statefulset_status_replicas_ready": "kube-state-metrics",
    "kube_cronjob_status_last_successful_time": "kube-state-metrics (once a run succeeded)",
    "kube_cronjob_created": "kube-state-metrics",
    "kubelet_volume_stats_available_bytes": "the kubelet, per mounted PersistentVolumeClaim",
    "kubelet_volume_stats_capacity_bytes": "the kubelet, per mounted PersistentVolumeClaim",
}
# The alerts on the storage server itself, which read only the metrics it exports.
STORAGE_SERVER_ALERTS = {
    "SutraStorageQueueNearFull",
    "SutraStorageRejectingWrites",
    "SutraStorageVolumeFilling",
    "SutraStorageStoreNearMapSize",
    "SutraStorageSnapshotTooOld",
}
# The alerts on the replicated store's members, which read their replication metrics.
REPLICATION_ALERTS = {"SutraStorageFollowerLagging", "SutraStorageNoWriter"}
ADAPTER_CONFIGMAP = "sutra-prometheus-adapter"


def _page(url: str) -> str:
    response = httpx.get(url, timeout=10.0)
    response.raise_for_status()
    return response.text


QUEUE_SIZE = 1234
MAP_SIZE = 64 * 1024**2


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The /metrics page of each running service, after it did some work."""
    root = tmp_path_factory.mktemp("monitoring")
    storage_env = {
        "SUTRA_STORAGE_QUEUE_SIZE": str(QUEUE_SIZE),
        "SUTRA_STORAGE_MAP_SIZE": str(MAP_SIZE),
    }
    with run_server(root / "storage", env=storage_env) as storage:
        hybrid_port, api_port = free_port(), free_port()
        hybrid_env = {
            "SUTRA_HYBRID_HOST": "127.0.0.1",
            "SUTRA_HYBRID_PORT": str(hybrid_port),
            "SUTRA_STORAGE_SERVER": storage.address,
        }
        with run_http_service(
            "sutra.hybrid", env=hybrid_env, port=hybrid_port, log_path=root / "hybrid.log"
        ) as hybrid:
            api_env = {
                "SUTRA_API_HOST": "127.0.0.1",
                "SUTRA_API_PORT": str(api_port),
                "SUTRA_STORAGE_SERVER": storage.address,
                "SUTRA_HYBRID_URL": hybrid.url,
                "SUTRA_REDIS_URL": "",
            }
            with run_http_service(
                "sutra.api", env=api_env, port=api_port, log_path=root / "api.log"
            ) as api:
                _work(api)
                yield {
                    "storage-server": _page(f"http://127.0.0.1:{storage.metrics_port}/metrics"),
                    "sutra-hybrid": _page(f"{hybrid.url}/metrics"),
                    "sutra-api": _page(f"{api.url}/metrics"),
                    "storage-data": str(storage.data_dir),
                }


def replication_page() -> str:
    """The page of a member of a replicated store (medium, high): the metrics its servers
    register beside the store's own (`ReplicationMetrics`, on the server's registry). The
    processes above run one unreplicated store, which registers none of them."""
    from prometheus_client import CollectorRegistry, generate_latest

    from sutra.storage.replication.metrics import ReplicationMetrics

    registry = CollectorRegistry()
    ReplicationMetrics(registry)
    return generate_latest(registry).decode()


@pytest.fixture(scope="module")
def exported(pages: dict[str, str]) -> dict[str, set[str]]:
    """Series names per service."""
    services = ("storage-server", "sutra-hybrid", "sutra-api")
    names = {service: series_names(pages[service]) for service in services}
    names["storage-replica"] = series_names(replication_page())
    return names


def _work(api: HttpService) -> None:
    """A write, a question and a miss, so request counters and histograms have samples."""
    with httpx.Client(base_url=api.url, timeout=30.0) as client:
        assert client.post("/learn", json={"content": "Smoke causes coughing."}).status_code < 300
        assert client.post("/reason", json={"query": "What causes coughing?"}).status_code == 200
        assert client.get(f"/concepts/{'0' * 32}").status_code == 404


def missing_metrics(
    rules: list[dict[str, Any]], exported: dict[str, set[str]]
) -> dict[str, set[str]]:
    """alert -> the metrics its expression reads that nothing exports."""
    known = set().union(*exported.values()) | set(EXTERNAL_METRICS)
    missing: dict[str, set[str]] = {}
    for rule in rules:
        unknown = metric_names(str(rule["expr"])) - known
        if unknown:
            missing.setdefault(rule.get("alert") or rule.get("record", "?"), set()).update(unknown)
    return missing


def test_every_alert_reads_metrics_that_exist(tiers, exported) -> None:
    for tier, objects in tiers.items():
        rules = rules_of(objects)
        assert rules, tier
        assert missing_metrics(rules, exported) == {}, tier


def test_a_rule_naming_a_metric_nobody_emits_is_caught(tiers, exported) -> None:
    rules = rules_of(tiers["low"])
    typo = {"alert": "Typo", "expr": "sum(rate(sutra_api_request_total[5m])) > 0"}
    renamed = {"alert": "Renamed", "expr": 'sutra_storage_queue_size{namespace="sutra-ai"} > 1'}
    assert missing_metrics([*rules, typo, renamed], exported) == {
        "Typo": {"sutra_api_request_total"},
        "Renamed": {"sutra_storage_queue_size"},
    }


def test_the_storage_alerts_read_the_storage_servers_own_metrics(tiers, exported) -> None:
    """Queue, volume, map size and snapshot age come from the server, not from node exporters;
    only the snapshot CronJob and its claim, which the server cannot see, and whether the server
    answers at all (Prometheus's `up`), are read elsewhere."""
    storage_rules = [r for r in rules_of(tiers["low"]) if r["alert"].startswith("SutraStorage")]
    assert {r["alert"] for r in storage_rules} == STORAGE_SERVER_ALERTS | REPLICATION_ALERTS | {
        "SutraStorageSnapshotJobFailing", "SutraStorageSnapshotVolumeFilling",
        "SutraStorageServerDown"}  # fmt: skip
    for rule in storage_rules:
        if rule["alert"] in REPLICATION_ALERTS:
            assert metric_names(rule["expr"]) <= exported["storage-replica"], rule["alert"]
            continue
        names = metric_names(rule["expr"])
        if rule["alert"] in STORAGE_SERVER_ALERTS:
            assert names <= exported["storage-server"], rule["alert"]
        else:
            assert names and names <= set(EXTERNAL_METRICS), rule["alert"]


def test_every_external_metric_is_used(tiers) -> None:
    """The allowlist stays as short as the rules need."""
    used = set().union(*(metric_names(r["expr"]) for o in tiers.values() for r in rules_of(o)))
    assert set(EXTERNAL_METRICS) <= used


def _adapter_rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    config = find(objects, "ConfigMap", ADAPTER_CONFIGMAP)["data"]["config.yaml"]
    return yaml.safe_load(config)["rules"]


def _expand(query: str, series: str) -> str:
    """A metricsQuery as the adapter runs it for one pod (its Go-template placeholders filled)."""
    return (
        query.replace("<<.Series>>", series)
        .replace("<<.LabelMatchers>>", 'namespace="sutra-ai",pod="sutra-api-0"')
        .replace("<<.GroupBy>>", "pod")
    )


@pytest.mark.parametrize("tier", ["medium", "high"])
def test_the_adapter_serves_what_the_hpa_asks_for(tiers, tier: str) -> None:
    objects = tiers[tier]
    served = {rule["name"]["as"] for rule in _adapter_rules(objects)}
    hpa = find(objects, "HorizontalPodAutoscaler", "sutra-api")
    asked = {m["pods"]["metric"]["name"] for m in hpa["spec"]["metrics"] if m["type"] == "Pods"}
    assert asked == served == {
        "sutra_api_requests_per_second", "sutra_api_request_duration_p95_seconds"}  # fmt: skip


def test_low_has_no_adapter_rules_and_no_traffic_metrics(tiers) -> None:
    objects = tiers["low"]
    assert not [o for o in objects if o["metadata"]["name"] == ADAPTER_CONFIGMAP]
    hpa = find(objects, "HorizontalPodAutoscaler", "sutra-api")
    assert {m["type"] for m in hpa["spec"]["metrics"]} == {"Resource"}


@pytest.mark.parametrize("tier", ["medium", "high"])
def test_the_adapter_queries_read_the_apis_metrics(tiers, exported, tier: str) -> None:
    for rule in _adapter_rules(tiers[tier]):
        (series,) = metric_names(rule["seriesQuery"])
        assert re.search(rule["name"]["matches"], series), rule["name"]
        assert series in exported["sutra-api"], series
        assert rule["resources"]["overrides"] == {
            "namespace": {"resource": "namespace"}, "pod": {"resource": "pod"}}  # fmt: skip
        query = _expand(rule["metricsQuery"], series)
        assert "<<" not in query, query
        assert metric_names(query) == {series}, query
        assert metric_names(query) <= exported["sutra-api"]


def test_an_adapter_rule_on_a_metric_the_api_lacks_is_caught(exported) -> None:
    wrong = _expand("sum(rate(<<.Series>>{<<.LabelMatchers>>}[1m]))", "sutra_api_requests")
    assert not metric_names(wrong) <= exported["sutra-api"]


def test_exported_names_come_from_the_running_services(exported) -> None:
    """Guard for the fixture: each page is the service's own (no page stands in for another)."""
    assert "sutra_storage_queue_capacity" in exported["storage-server"]
    assert "sutra_api_request_duration_seconds_bucket" in exported["sutra-api"]
    assert "sutra_hybrid_requests_total" in exported["sutra-hybrid"]
    assert not exported["storage-server"] & {"sutra_api_requests_total"}


def test_the_storage_server_exports_its_limits_and_its_volume(pages) -> None:
    page = pages["storage-server"]
    assert sample_value(page, "sutra_storage_queue_capacity") == QUEUE_SIZE
    assert sample_value(page, "sutra_storage_map_size_bytes") == MAP_SIZE
    assert 0 <= sample_value(page, "sutra_storage_queue_depth") <= QUEUE_SIZE
    st = os.statvfs(pages["storage-data"])
    capacity = sample_value(page, "sutra_storage_volume_capacity_bytes")
    assert capacity == st.f_blocks * st.f_frsize
    assert 0 < sample_value(page, "sutra_storage_volume_used_bytes") <= capacity
