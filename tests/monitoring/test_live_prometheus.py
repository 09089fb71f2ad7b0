"""A real Prometheus scrapes the running services as the ServiceMonitors tell it, evaluates the
rendered rules, and answers the queries of the HPA's adapter and of the Grafana dashboards.

The tier is high (every component: the adapter rules, Redis in the tier alerts, the replicated
store with its log and a read follower). Scrapes and
rule evaluations run every second instead of every 15 to 60 s; every other setting comes from
the rendered objects. The series of kube-state-metrics and the kubelet are served from a text
page (`live.ClusterExporter`): both need a Kubernetes API server and nodes, which cannot run
here. The tests run in file order: the last two slow a dependency down and kill the storage
server.

Alerts with a `for` go pending here, never firing: a test cannot wait the 2 to 15 minutes, and
shortening `for` would test another rule. promtool's unit tests (test_promtool.py) prove each
pending alert turns firing once its `for` has passed.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sutra.common.testing import HttpService, poll
from sutra.gitops.paths import TIERS

from . import dashboards
from .conftest import find, rules_of
from .live import NAMESPACE, Pods, cluster_exporter, run_pods
from .prometheus import (
    Prometheus,
    fill_adapter_query,
    run_prometheus,
    scrape_jobs,
    write_rule_files,
)
from .promql import metric_names

TIER = "high"
EVERY = "1s"
ADAPTER = "sutra-prometheus-adapter"
SUTRA = str(Path(sys.executable).parent / "sutra")
# The proxy holds each answer hybrid gives the APIs this long: a slow dependency.
SLOW_SECONDS = 0.8


@dataclass
class Live:
    prometheus: Prometheus
    pods: Pods
    tiers: dict[str, list[dict[str, Any]]]  # every tier rendered; Prometheus runs TIER's rules

    @property
    def objects(self) -> list[dict[str, Any]]:
        return self.tiers[TIER]


def _traffic(api: HttpService, tag: str) -> None:
    """Writes, questions (one asked twice: a cache hit) and a miss, as users send them."""
    with httpx.Client(base_url=api.url, timeout=30.0) as client:
        for i in range(3):
            fact = {"content": f"Smoke {tag}{i} causes coughing {tag}{i}."}
            assert client.post("/learn", json=fact).status_code == 201
        for i in (0, 1, 2, 3, 0):
            question = {"query": f"What causes coughing {tag}{i}?"}
            assert client.post("/reason", json=question).status_code == 200
        assert client.get(f"/concepts/{'0' * 32}").status_code == 404


def _snapshot(pods: Pods, folder: Path) -> None:
    """A snapshot as the CronJob takes one, so the store's snapshot age is fresh."""
    done = subprocess.run(
        [SUTRA, "storage", "snapshot", "--server", pods.storage.address, "--to", str(folder)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def _per_pod(prometheus: Prometheus, expr: str) -> dict[str, float]:
    return {s["metric"].get("pod", ""): float(s["value"][1]) for s in prometheus.query(expr)}


@pytest.fixture(scope="module")
def live(tiers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    folder = tmp_path_factory.mktemp("live-prometheus")
    objects = tiers[TIER]
    with run_pods(folder / "pods") as pods, cluster_exporter(objects) as cluster:
        for i, api in enumerate(pods.apis):
            _traffic(api, f"warm{i}")  # every route's series exists before the first scrape
        _snapshot(pods, folder / "snapshots")
        scrape = scrape_jobs(objects, pods.pods, EVERY) + cluster.scrape_jobs(EVERY)
        rules = write_rule_files(objects, folder / "rules")
        with run_prometheus(folder / "prometheus", scrape, rules, EVERY) as prometheus:
            poll(lambda: len(prometheus.query(f'up{{namespace="{NAMESPACE}"}} == 1')) == 6,
                 timeout=20, what="every target scraped")  # fmt: skip
            for i, api in enumerate(pods.apis):
                _traffic(api, f"main{i}")
            rate = 'sum by (pod) (rate(sutra_api_requests_total{route="/reason"}[1m])) > 0'
            poll(lambda: len(_per_pod(prometheus, rate)) == 2, timeout=20, what="traffic seen")
            yield Live(prometheus, pods, tiers)


def test_every_service_monitor_target_is_scraped_with_the_operators_labels(live: Live) -> None:
    up = live.prometheus.query(f'up{{namespace="{NAMESPACE}"}}')
    found = {(s["metric"]["job"], s["metric"]["pod"]): s for s in up}
    assert sorted(found) == [
        ("storage-replica", "storage-replica-0"), ("storage-server", "storage-server-0"),
        ("sutra-api", "sutra-api-0"),
        ("sutra-api", "sutra-api-1"), ("sutra-control", "sutra-control-0"),
        ("sutra-hybrid", "sutra-hybrid-0")]  # fmt: skip
    for (job, _), sample in found.items():
        assert sample["value"][1] == "1", sample
        labels = sample["metric"]
        assert labels["service"] == labels["container"] == job
        assert labels["endpoint"] == ("metrics" if job.startswith("storage-") else "http")


def _adapter_rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    config = find(objects, "ConfigMap", ADAPTER)["data"]["config.yaml"]
    return yaml.safe_load(config)["rules"]  # type: ignore[no-any-return]


def test_every_recording_rule_and_adapter_query_gives_a_series_per_pod(live: Live) -> None:
    """The adapter finds its series (seriesQuery, name.matches) and serves each API pod a value,
    as it runs the metricsQuery for the HPA (the Go template filled in). The tiers have no
    recording rules today; one added must give a series for each pod its series come from."""
    prometheus, api_pods = live.prometheus, [p.name for p in live.pods.pods["sutra-api"]]
    for rule in [r for r in rules_of(live.objects) if "record" in r]:
        pods = {s["metric"].get("pod") for s in prometheus.query(rule["record"])}
        workloads = {p.rsplit("-", 1)[0] for p in pods if p}  # local pods are <workload>-<i>
        expected = {p.name for w in workloads for p in live.pods.pods[w]} or {None}
        assert pods == expected, rule
    for tier in ("medium", "high"):
        for rule in _adapter_rules(live.tiers[tier]):
            found = prometheus.get("/api/v1/series", **{"match[]": rule["seriesQuery"]})
            names = {s["__name__"] for s in found}
            assert len(names) == 1 and {s["pod"] for s in found} == set(api_pods), rule
            (series,) = names
            assert rule["name"]["matches"].strip("^$") == series
            query = fill_adapter_query(rule["metricsQuery"], series, NAMESPACE, api_pods)
            values = _per_pod(prometheus, query)
            assert sorted(values) == api_pods, (rule["name"]["as"], query)
            assert all(math.isfinite(v) and v >= 0 for v in values.values()), values
    (rate,) = [r for r in _adapter_rules(live.objects) if r["name"]["as"].endswith("per_second")]
    per_second = fill_adapter_query(rate["metricsQuery"], "sutra_api_requests_total", NAMESPACE,
                                    api_pods)  # fmt: skip
    assert all(v > 0 for v in _per_pod(prometheus, per_second).values()), "traffic is counted"


# The series names of a metric family, by its type (OpenMetrics names a counter without _total).
SERIES_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}


def known_metrics(prometheus: Prometheus) -> set[str]:
    """Metric names Prometheus holds series of, or scraped a declaration (# TYPE) of: a labelled
    counter nothing incremented yet (refused writes) has no series, only its declaration."""
    names = set(prometheus.get("/api/v1/label/__name__/values"))
    for name, (meta, *_) in prometheus.get("/api/v1/metadata").items():
        names.update(name + s for s in SERIES_SUFFIXES.get(meta["type"], ("",)))
    return names


@pytest.mark.parametrize("tier", TIERS)
def test_every_alert_expression_evaluates_and_selects_known_metrics(live: Live, tier: str) -> None:
    known = known_metrics(live.prometheus)
    for rule in rules_of(live.tiers[tier]):
        expr = str(rule["expr"])
        live.prometheus.query(expr)  # raises on a parse or evaluation error
        assert metric_names(expr) <= known, (rule.get("alert"), metric_names(expr) - known)


def test_every_rule_is_loaded_and_evaluates_cleanly(live: Live) -> None:
    groups = live.prometheus.get("/api/v1/rules")["groups"]
    loaded = [r for g in groups for r in g["rules"]]
    assert len(loaded) == len(rules_of(live.objects))
    assert [
        (r["name"], r["health"], r.get("lastError")) for r in loaded if r["health"] != "ok"
    ] == []


def _active(prometheus: Prometheus) -> dict[str, str]:
    return {
        a["labels"]["alertname"]: a["state"] for a in prometheus.get("/api/v1/alerts")["alerts"]
    }


def test_a_healthy_stack_raises_no_alert(live: Live) -> None:
    """Only the data volume alert may be pending, when this machine's own disk is over 80 %."""
    expected = {}
    st = os.statvfs(live.pods.storage.data_dir)
    if 1 - st.f_bavail / st.f_blocks > 0.8:
        expected = {"SutraStorageVolumeFilling": "pending"}
    assert _active(live.prometheus) == expected


@pytest.mark.parametrize("path", dashboards.dashboard_files(), ids=lambda p: p.name)
def test_every_dashboard_panel_shows_data(live: Live, path: Path) -> None:
    """Each query of each panel evaluates, reads metrics Prometheus knows and gives at least one
    number (not NaN: a quantile of nothing)."""
    known = known_metrics(live.prometheus)
    for title, expr in dashboards.queries(dashboards.load(path)):
        assert metric_names(expr) <= known, (title, metric_names(expr) - known)
        values = [float(s["value"][1]) for s in live.prometheus.query(expr)]
        assert any(math.isfinite(v) for v in values), (title, expr, values)


def test_a_slow_dependency_makes_the_latency_alert_pending(live: Live) -> None:
    """Hybrid answering each call 0.8 s late (what a saturated or throttled dependency does)
    makes user requests slow; the API's P95 goes over 500 ms, the alert goes pending, and the
    adapter serves each pod a P95 above the HPA's 250 ms target, so the HPA would add pods."""
    prometheus, apis = live.prometheus, live.pods.apis
    live.pods.proxy.delay = SLOW_SECONDS
    try:
        questions = [(apis[i % 2], f"slow {uuid.uuid4().hex[:8]}") for i in range(12)]
        with ThreadPoolExecutor(len(questions)) as pool:
            replies = list(pool.map(lambda q: httpx.post(
                f"{q[0].url}/reason", json={"query": q[1]}, timeout=30), questions))  # fmt: skip
        assert all(r.status_code == 200 for r in replies), [
            (r.status_code, r.text) for r in replies if r.status_code != 200
        ]
    finally:
        live.pods.proxy.delay = 0.0
    (alert,) = poll(lambda: prometheus.alerts("SutraApiLatencyHigh"), timeout=20,
                    what="SutraApiLatencyHigh active")  # fmt: skip
    assert alert["state"] in ("pending", "firing")
    assert alert["labels"]["severity"] == "critical" and float(alert["value"]) > 0.5
    (p95,) = [r for r in _adapter_rules(live.objects) if "p95" in r["name"]["as"]]
    pods = [p.name for p in live.pods.pods["sutra-api"]]
    query = fill_adapter_query(p95["metricsQuery"], "sutra_api_request_duration_seconds_bucket",
                               NAMESPACE, pods)  # fmt: skip
    poll(lambda: sorted(p for p, v in _per_pod(prometheus, query).items() if v > 0.25) == pods,
         timeout=10, what="every API pod's P95 over the HPA's 250 ms")  # fmt: skip


def test_killing_the_storage_server_makes_the_storage_down_alert_pending(live: Live) -> None:
    """SIGKILL, as a node failure or the OOM killer does; the other targets stay up."""
    prometheus = live.prometheus
    assert not prometheus.alerts("SutraStorageServerDown")
    live.pods.storage.kill()
    (alert,) = poll(lambda: prometheus.alerts("SutraStorageServerDown"), timeout=20,
                    what="SutraStorageServerDown active")  # fmt: skip
    assert alert["state"] in ("pending", "firing")
    assert alert["labels"] == {"alertname": "SutraStorageServerDown", "severity": "critical",
                               "namespace": NAMESPACE, "job": "storage-server"}  # fmt: skip
    (down,) = poll(lambda: prometheus.alerts("SutraMetricsTargetDown"), timeout=10,
                   what="SutraMetricsTargetDown active")  # fmt: skip
    assert down["labels"]["pod"] == "storage-server-0"
    # The follower still reports in, as a follower: the shard has no writer.
    (writerless,) = poll(lambda: prometheus.alerts("SutraStorageNoWriter"), timeout=10,
                         what="SutraStorageNoWriter active")  # fmt: skip
    assert writerless["labels"] == {"alertname": "SutraStorageNoWriter", "severity": "critical",
                                    "namespace": NAMESPACE}  # fmt: skip
