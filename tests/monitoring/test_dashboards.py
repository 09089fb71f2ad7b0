"""The Grafana dashboards as code: well-formed, provisioned in every tier, in the alerts' and the
control dashboard's vocabulary. test_live_prometheus.py runs every panel's query against a real
Prometheus scraping the services."""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from sutra.control import figures
from sutra.control.collectors import Reading
from sutra.control.scrape import Scrape
from sutra.gitops.paths import TIERS

from .conftest import find, rules_of
from .dashboards import dashboard_files, load, panels, queries
from .promql import metric_names

CONFIGMAP = "sutra-grafana-dashboards"
SCHEMA_VERSION = 39  # Grafana 10.x and 11.x
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
# Argo CD applies client-side: the object must fit its last-applied annotation (256 KiB).
MAX_BYTES = 256 * 1024
API_PROBES = 'route!~"/health|/ready|/metrics"'  # as in the alerts and the adapter rules


def problems(dashboard: dict[str, Any]) -> list[str]:
    """What would make Grafana show the dashboard wrong or on the wrong data source."""
    found = []
    if dashboard.get("schemaVersion") != SCHEMA_VERSION:
        found.append(f"schemaVersion {dashboard.get('schemaVersion')}, not {SCHEMA_VERSION}")
    variables = dashboard.get("templating", {}).get("list", [])
    if [(v["name"], v["type"], v.get("query")) for v in variables if v["type"] == "datasource"] != [
        ("datasource", "datasource", "prometheus")
    ]:
        found.append("no single datasource variable `datasource` of type prometheus")
    ids: dict[int, list[str]] = defaultdict(list)
    for panel in panels(dashboard):
        ids[panel["id"]].append(panel["title"])
        if panel["type"] == "row":
            continue
        sources = [panel.get("datasource")] + [t.get("datasource") for t in panel["targets"]]
        if any(s != DATASOURCE for s in sources) or not panel["targets"]:
            found.append(f"{panel['title']}: a query not on ${{datasource}}")
    found += [f"panel id {i} used by {titles}" for i, titles in ids.items() if len(titles) > 1]
    return found


@pytest.mark.parametrize("path", dashboard_files(), ids=lambda p: p.name)
def test_the_dashboard_is_well_formed(path: Path) -> None:
    dashboard = load(path)
    assert problems(dashboard) == []
    assert dashboard["uid"] == path.stem, "a stable uid: links (SUTRA_GRAFANA_URL) name it"
    assert not dashboard["editable"], "changes go through git"


def test_a_broken_dashboard_is_caught() -> None:
    dashboard = copy.deepcopy(load(dashboard_files()[0]))
    graphs = [p for p in panels(dashboard) if p["type"] != "row"]
    dashboard["schemaVersion"] = 16
    graphs[1]["id"] = graphs[0]["id"]
    graphs[2]["targets"][0]["datasource"] = {"type": "prometheus", "uid": "prometheus"}
    dashboard["templating"]["list"] = []
    assert problems(dashboard) == [
        f"schemaVersion 16, not {SCHEMA_VERSION}",
        "no single datasource variable `datasource` of type prometheus",
        f"{graphs[2]['title']}: a query not on ${{datasource}}",
        f"panel id {graphs[0]['id']} used by {[graphs[0]['title'], graphs[1]['title']]}",
    ]


@pytest.mark.parametrize("tier", TIERS)
def test_every_tier_provisions_the_dashboards_for_grafanas_sidecar(tiers, tier: str) -> None:
    config_map = find(tiers[tier], "ConfigMap", CONFIGMAP)
    assert config_map["metadata"]["namespace"] == "sutra-ai"
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    files = dashboard_files()
    assert config_map["data"] == {p.name: p.read_text() for p in files}
    assert sum(len(p.read_bytes()) for p in files) < MAX_BYTES


def test_the_dashboard_covers_what_operators_watch() -> None:
    """Requests, errors and latency per service, HPA replicas, storage writes, queue, commit
    and vector search latency: each named by at least one query."""
    read = set().union(*(metric_names(q) for _, q in queries(load(dashboard_files()[0]))))
    assert {
        "sutra_api_requests_total",
        "sutra_api_request_duration_seconds_bucket",
        "sutra_hybrid_requests_total",
        "sutra_hybrid_request_duration_seconds_bucket",
        "kube_horizontalpodautoscaler_status_current_replicas",
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "sutra_storage_writes_total",
        "sutra_storage_queue_depth",
        "sutra_storage_commit_seconds_bucket",
        "sutra_storage_search_seconds_bucket",
    } <= read
    text = " ".join(q for _, q in queries(load(dashboard_files()[0])))
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}, " in text


class _Recording(Scrape):
    """A scrape that remembers every metric the control dashboard asks it for."""

    def __init__(self, asked: set[str]) -> None:
        super().__init__("")
        self.asked = asked
        self.samples = _RecordingDict(asked)

    def total(self, name: str, where: Any = None) -> float | None:
        self.asked.add(name)
        return 1.0

    def buckets(self, name: str, where: Any = None) -> dict[float, float]:
        self.asked.add(f"{name}_bucket")
        return {float("inf"): 1.0}


class _RecordingDict(defaultdict[str, list[tuple[dict[str, str], float]]]):
    def __init__(self, asked: set[str]) -> None:
        super().__init__(list)
        self.asked = asked

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        self.asked.add(name)
        return super().get(name, default)


def control_metrics() -> set[str]:
    """Every metric sutra-control reads from the services' /metrics to compute its figures."""
    asked: set[str] = set()
    readings = {
        name: Reading(name, "local", True, True, None, scrape=_Recording(asked))
        for name in figures.FIGURES
    }
    figures.figures(readings, readings, 1.0)
    return asked


def test_the_control_dashboard_reads_the_same_metrics_as_grafana_and_the_alerts(tiers) -> None:
    """One vocabulary: each figure sutra-control shows is one the Grafana dashboard shows."""
    asked = control_metrics()
    assert {"sutra_api_requests_total", "sutra_storage_commit_seconds_bucket"} <= asked
    grafana = set().union(*(metric_names(q) for _, q in queries(load(dashboard_files()[0]))))
    assert asked - grafana == set()
    alerts = set().union(*(metric_names(str(r["expr"])) for r in rules_of(tiers["high"])))
    assert {"sutra_api_requests_total", "sutra_storage_queue_depth"} <= alerts & asked


def test_probes_are_left_out_as_the_alerts_and_the_control_dashboard_do(tiers) -> None:
    """The API's traffic queries leave out what the alerts and the adapter leave out; hybrid's
    (which also has /ping) what sutra-control leaves out."""
    for title, query in queries(load(dashboard_files()[0])):
        for name, matchers in re.findall(r"\b(sutra_(?:api|hybrid)_request\w*)\{([^}]*)\}", query):
            if name.startswith("sutra_api"):
                assert API_PROBES in matchers, title
            else:
                routes = re.search(r'route!~"([^"]*)"', matchers)
                assert routes and set(routes[1].split("|")) == figures.OPERATIONS, title
    alert_exprs = " ".join(str(r["expr"]) for r in rules_of(tiers["high"]))
    assert API_PROBES in alert_exprs
    assert set(API_PROBES.split('"')[1].split("|")) <= figures.OPERATIONS
