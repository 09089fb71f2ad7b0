"""The rendered monitoring objects handed to Debian's real Prometheus 2.42 (server and promtool).

- `write_rule_files`: each PrometheusRule's spec as the rule file the Prometheus Operator writes
  for it (`<namespace>-<name>.yaml`).
- `scrape_jobs`: the scrape jobs the Operator generates from the ServiceMonitors. Each endpoint's
  port is followed by name from the Service to the container port of the pods it selects, and
  that port is mapped to the local process serving it; each target gets the labels the
  Operator's relabelling gives it (`namespace`, `service`, `pod`, `container`, `endpoint`, `job`).
  A ServiceMonitor field this generator does not translate is an error, never ignored.
- `fill_adapter_query`: a prometheus-adapter `metricsQuery` as the adapter runs it for some pods.
- `Prometheus`: a server on a free port, its TSDB in a temporary folder, and its HTTP API.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sutra.common.testing import free_port, poll

PROMETHEUS = os.environ.get("SUTRA_PROMETHEUS", "/usr/bin/prometheus")
PROMTOOL = os.environ.get("SUTRA_PROMTOOL", "/usr/bin/promtool")
# ServiceMonitor fields the generator translates; any other one fails the test run.
MONITOR_SPEC_KEYS = {"selector", "endpoints", "namespaceSelector", "jobLabel"}
ENDPOINT_KEYS = {"port", "path", "interval", "scrapeTimeout"}


def tool(path: str) -> str:
    """The binary at `path`, or the run fails saying how to install it."""
    if not Path(path).is_file():
        pytest.fail(f"{path} not found: install Debian's prometheus (scripts/bootstrap does)")
    return path


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def write_rule_files(objects: list[dict[str, Any]], folder: Path) -> list[Path]:
    """One rule file per PrometheusRule, named as the Operator names it; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for rule in of_kind(objects, "PrometheusRule"):
        meta = rule["metadata"]
        path = folder / f"{meta['namespace']}-{meta['name']}.yaml"
        path.write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
        paths.append(path)
    return paths


def promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool(PROMTOOL), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=120
    )


@dataclass(frozen=True)
class LocalPod:
    """A local process standing in for one pod: its name and its container ports by name."""

    name: str
    ports: dict[str, int]


class ScrapeConfigError(ValueError):
    """A ServiceMonitor selecting nothing, naming a missing port or using an untranslated field."""


def _selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _match_labels(spec: dict[str, Any], where: str) -> dict[str, str]:
    selector = spec.get("selector") or {}
    if set(selector) - {"matchLabels"}:
        raise ScrapeConfigError(f"{where}: only selector.matchLabels is translated")
    return dict(selector.get("matchLabels") or {})


def _container_port(workload: dict[str, Any], target: str | int) -> tuple[str, str]:
    """(container, port name) of the workload's container port a Service targetPort names."""
    for container in workload["spec"]["template"]["spec"]["containers"]:
        for port in container.get("ports") or []:
            if target in (port.get("name"), port["containerPort"]):
                return container["name"], port["name"]
    raise ScrapeConfigError(f"{workload['metadata']['name']} has no container port {target!r}")


def _services(monitor: dict[str, Any], objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Services of its namespace a ServiceMonitor selects (at least one)."""
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    selector = _match_labels(monitor["spec"], f"ServiceMonitor {name}")
    services = [
        s
        for s in of_kind(objects, "Service")
        if s["metadata"]["namespace"] == namespace and _selects(selector, s["metadata"]["labels"])
    ]
    if not services:
        raise ScrapeConfigError(f"ServiceMonitor {name} selects no Service in {namespace}")
    return services


def _workloads(service: dict[str, Any], objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Deployments and StatefulSets whose pods a Service selects."""
    return [
        w
        for w in objects
        if w["kind"] in ("Deployment", "StatefulSet")
        and w["metadata"]["namespace"] == service["metadata"]["namespace"]
        and _selects(service["spec"]["selector"], w["spec"]["template"]["metadata"]["labels"])
    ]


def _targets(
    monitor: dict[str, Any],
    endpoint: dict[str, Any],
    objects: list[dict[str, Any]],
    pods: dict[str, list[LocalPod]],
) -> list[dict[str, Any]]:
    """Static targets for one endpoint: one per local pod behind each selected Service, with
    the labels the Operator's relabelling gives them."""
    name, job_label = monitor["metadata"]["name"], monitor["spec"].get("jobLabel")
    targets = []
    for service in _services(monitor, objects):
        meta = service["metadata"]
        ports = [p for p in service["spec"]["ports"] if p.get("name") == endpoint["port"]]
        if not ports:
            raise ScrapeConfigError(f"Service {meta['name']} has no port {endpoint['port']!r} "
                                    f"(ServiceMonitor {name})")  # fmt: skip
        job = meta["labels"][job_label] if job_label else meta["name"]
        for workload in _workloads(service, objects):
            container, port_name = _container_port(workload, ports[0]["targetPort"])
            for pod in pods.get(workload["metadata"]["name"], []):
                labels = {"namespace": meta["namespace"], "service": meta["name"],
                          "pod": pod.name, "container": container,
                          "endpoint": endpoint["port"], "job": job}  # fmt: skip
                targets.append({"targets": [f"127.0.0.1:{pod.ports[port_name]}"], "labels": labels})
    return targets


def scrape_jobs(
    objects: list[dict[str, Any]], pods: dict[str, list[LocalPod]], interval: str
) -> list[dict[str, Any]]:
    """The Operator's scrape jobs for every ServiceMonitor of `objects`, every `interval`.

    The ServiceMonitors' own intervals (15 to 60 s) are replaced: a test cannot wait minutes
    for the samples a `rate()` needs. Everything else comes from the objects.
    """
    jobs = []
    for monitor in of_kind(objects, "ServiceMonitor"):
        meta, spec = monitor["metadata"], monitor["spec"]
        where = f"ServiceMonitor {meta['name']}"
        if set(spec) - MONITOR_SPEC_KEYS:
            raise ScrapeConfigError(
                f"{where}: untranslated {sorted(set(spec) - MONITOR_SPEC_KEYS)}"
            )
        if (spec.get("namespaceSelector") or {}) not in ({}, {"matchNames": [meta["namespace"]]}):
            raise ScrapeConfigError(f"{where}: only its own namespace is translated")
        for index, endpoint in enumerate(spec["endpoints"]):
            if set(endpoint) - ENDPOINT_KEYS:
                unknown = sorted(set(endpoint) - ENDPOINT_KEYS)
                raise ScrapeConfigError(f"{where} endpoint {index}: untranslated {unknown}")
            jobs.append(
                {
                    "job_name": f"serviceMonitor/{meta['namespace']}/{meta['name']}/{index}",
                    "metrics_path": endpoint.get("path", "/metrics"),
                    "scrape_interval": interval,
                    "scrape_timeout": interval,
                    "static_configs": _targets(monitor, endpoint, objects, pods),
                }
            )
    return jobs


def fill_adapter_query(query: str, series: str, namespace: str, pods: list[str]) -> str:
    """A metricsQuery as prometheus-adapter runs it for a Pods metric of `pods`."""
    matchers = f'namespace="{namespace}",pod=~"{"|".join(pods)}"'
    return (
        query.replace("<<.Series>>", series)
        .replace("<<.LabelMatchers>>", matchers)
        .replace("<<.GroupBy>>", "pod")
    )


class PrometheusError(RuntimeError):
    """The HTTP API answered an error (a query that does not parse or evaluate)."""


@dataclass
class Prometheus:
    """A running server and its HTTP API."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def get(self, path: str, **params: str) -> Any:
        reply = httpx.get(f"{self.url}{path}", params=params, timeout=10.0)
        body = reply.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector `expr` gives now (a scalar comes back as one unlabelled sample)."""
        data = self.get("/api/v1/query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def alerts(self, name: str) -> list[dict[str, Any]]:
        """The pending and firing alerts named `name`."""
        return [a for a in self.get("/api/v1/alerts")["alerts"] if a["labels"]["alertname"] == name]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def run_prometheus(
    folder: Path, scrape: list[dict[str, Any]], rule_files: list[Path], every: str
) -> Iterator[Prometheus]:
    """Prometheus on 127.0.0.1 scraping `scrape` and evaluating `rule_files` every `every`."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": every, "evaluation_interval": every},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": scrape,
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    log_path = folder / "prometheus.log"
    command = [
        tool(PROMETHEUS),
        f"--config.file={folder / 'prometheus.yml'}",
        f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    server = Prometheus(f"http://127.0.0.1:{port}", process, log_path)
    try:
        poll(lambda: _ready(server), timeout=30, what="prometheus ready", interval=0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _ready(server: Prometheus) -> bool:
    if server.process.poll() is not None:
        raise AssertionError("prometheus exited:\n" + server.log()[-3000:])
    try:
        return httpx.get(f"{server.url}/-/ready", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False
