"""The local stack as Prometheus sees a tier: real services, each as one or more pods.

- `run_pods`: the storage server, sutra-hybrid, two sutra-api pods (so "a series per pod" means
  something) and sutra-control, started as the suite starts single services. Not `sutra up`:
  it stops every service when one dies, and the storage-down test kills the storage server
  alone, as a pod dies in a cluster. The APIs reach hybrid through a `DelayProxy`.
- `DelayProxy`: a TCP proxy that can hold every request for a while: a slow dependency, the
  condition the API latency alert exists for.
- `ClusterExporter`: the series of kube-state-metrics and the kubelet, written from the tier's
  objects as a healthy cluster at the tier's minimum scale reports them. Both need a Kubernetes
  API server and nodes, which cannot run here; every other series comes from the services.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sutra.common.testing import HttpService, free_port, run_http_service
from sutra.storage.replication.cluster import run_nats_cluster
from sutra.storage.testing import ServerProcess, run_server

from .prometheus import LocalPod, of_kind

NAMESPACE = "sutra-ai"


class DelayProxy(socketserver.ThreadingTCPServer):
    """Forwards 127.0.0.1:port to `upstream`; each answer comes `delay` seconds late.

    The answer waits, not the request: a request held back could reach a keep-alive connection
    the upstream closed meanwhile, a failure a slow dependency does not cause. The first chunk
    of what the upstream sends after each request waits, so an answer in several chunks is
    late once."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: int) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = upstream
        self.delay = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(socketserver.BaseRequestHandler):
    server: DelayProxy

    def handle(self) -> None:
        asked = threading.Event()  # a request went upstream; its answer is not late yet
        with socket.create_connection(("127.0.0.1", self.server.upstream)) as upstream:
            back = threading.Thread(target=self._answers, args=(upstream, asked), daemon=True)
            back.start()
            with contextlib.suppress(OSError):
                while chunk := self.request.recv(65536):
                    asked.set()  # before it leaves: the answer may come back at once
                    upstream.sendall(chunk)
                upstream.shutdown(socket.SHUT_WR)
            back.join(timeout=30)

    def _answers(self, upstream: socket.socket, asked: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while chunk := upstream.recv(65536):
                if asked.is_set():
                    asked.clear()
                    time.sleep(self.server.delay)
                self.request.sendall(chunk)
            self.request.shutdown(socket.SHUT_WR)


@contextlib.contextmanager
def delay_proxy(upstream: int) -> Iterator[DelayProxy]:
    proxy = DelayProxy(upstream)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.shutdown()
        proxy.server_close()


@dataclass
class Pods:
    """The running processes, and each workload's pods as the scrape config maps them."""

    storage: ServerProcess
    hybrid: HttpService
    apis: list[HttpService]
    control: HttpService
    proxy: DelayProxy
    replica: ServerProcess
    pods: dict[str, list[LocalPod]] = field(default_factory=dict)


def _http(module: str, prefix: str, env: dict[str, str], folder: Path, name: str) -> Any:
    port = free_port()
    env = {f"{prefix}_HOST": "127.0.0.1", f"{prefix}_PORT": str(port), **env}
    return run_http_service(module, env=env, port=port, log_path=folder / f"{name}.log")


@contextlib.contextmanager
def run_pods(folder: Path) -> Iterator[Pods]:
    """Every service with metrics, on free ports, until the block ends. The store is
    replicated as in the high tier: its log on a 3-node JetStream cluster, the writer and one
    read follower, which the storage clients read from."""
    with contextlib.ExitStack() as stack:
        nats = stack.enter_context(run_nats_cluster(folder / "nats"))
        log = {"SUTRA_STORAGE_NATS_URL": nats.url}
        storage = stack.enter_context(
            run_server(folder / "storage-data", env={**log, "SUTRA_STORAGE_ROLE": "writer"})
        )
        replica = stack.enter_context(
            run_server(folder / "replica-data", env={**log, "SUTRA_STORAGE_ROLE": "follower"})
        )
        common = {
            "SUTRA_STORAGE_SERVER": storage.address,
            "SUTRA_STORAGE_READERS": replica.address,
            "SUTRA_REDIS_URL": "",
        }
        hybrid = stack.enter_context(
            _http("sutra.hybrid", "SUTRA_HYBRID", common, folder, "sutra-hybrid-0")
        )
        proxy = stack.enter_context(delay_proxy(hybrid.port))
        api_env = {**common, "SUTRA_HYBRID_URL": proxy.url}
        apis = [
            stack.enter_context(_http("sutra.api", "SUTRA_API", api_env, folder, f"sutra-api-{i}"))
            for i in range(2)
        ]
        control_env = {
            **common,
            "SUTRA_STORAGE_METRICS_URL": f"http://127.0.0.1:{storage.metrics_port}/metrics",
            "SUTRA_HYBRID_URL": hybrid.url,
            "SUTRA_API_URL": apis[0].url,
        }
        control = stack.enter_context(
            _http("sutra.control", "SUTRA_CONTROL", control_env, folder, "sutra-control-0")
        )
        pods = {
            "storage-server": [LocalPod("storage-server-0", {
                "grpc": storage.port, "metrics": storage.metrics_port})],
            "sutra-hybrid": [LocalPod("sutra-hybrid-0", {"http": hybrid.port})],
            "sutra-api": [LocalPod(f"sutra-api-{i}", {"http": a.port}) for i, a in enumerate(apis)],
            "sutra-control": [LocalPod("sutra-control-0", {"http": control.port})],
            "storage-replica": [LocalPod("storage-replica-0", {
                "grpc": replica.port, "metrics": replica.metrics_port})],
        }  # fmt: skip
        yield Pods(storage, hybrid, apis, control, proxy, replica, pods)


def _gauges(lines: list[str], name: str, samples: list[tuple[dict[str, str], float]]) -> None:
    lines.append(f"# TYPE {name} gauge")
    for labels, value in samples:
        pairs = ",".join(f'{k}="{v}"' for k, v in {"namespace": NAMESPACE, **labels}.items())
        lines.append(f"{name}{{{pairs}}} {value}")


def kube_state_metrics(objects: list[dict[str, Any]], now: float) -> str:
    """What kube-state-metrics reports for the tier's objects, each workload at its minimum and
    every snapshot run successful (the last ten minutes ago)."""
    hpas = {
        h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(objects, "HorizontalPodAutoscaler")
    }
    lines: list[str] = []
    for name, stat in [("spec_min_replicas", "minReplicas"), ("spec_max_replicas", "maxReplicas"),
                       ("status_current_replicas", "minReplicas"),
                       ("status_desired_replicas", "minReplicas")]:  # fmt: skip
        _gauges(lines, f"kube_horizontalpodautoscaler_{name}", [
            ({"horizontalpodautoscaler": h["metadata"]["name"]}, h["spec"][stat])
            for h in hpas.values()])  # fmt: skip
    _gauges(lines, "kube_deployment_status_replicas_available", [
        ({"deployment": d["metadata"]["name"]},
         hpas[d["metadata"]["name"]]["spec"]["minReplicas"] if d["metadata"]["name"] in hpas
         else d["spec"]["replicas"])
        for d in of_kind(objects, "Deployment")])  # fmt: skip
    _gauges(lines, "kube_statefulset_status_replicas_ready", [
        ({"statefulset": s["metadata"]["name"]}, s["spec"]["replicas"])
        for s in of_kind(objects, "StatefulSet")])  # fmt: skip
    cronjobs = [{"cronjob": c["metadata"]["name"]} for c in of_kind(objects, "CronJob")]
    _gauges(lines, "kube_cronjob_created", [(c, now - 86_400) for c in cronjobs])
    _gauges(lines, "kube_cronjob_status_last_successful_time", [(c, now - 600) for c in cronjobs])
    return "\n".join(lines) + "\n"


def kubelet_volume_stats(objects: list[dict[str, Any]]) -> str:
    """The kubelet's volume stats of every claim of the tier, each 40 % used."""
    claims = [{"persistentvolumeclaim": c["metadata"]["name"]}
              for c in of_kind(objects, "PersistentVolumeClaim")]  # fmt: skip
    lines: list[str] = []
    _gauges(lines, "kubelet_volume_stats_capacity_bytes", [(c, 100 * 2**30) for c in claims])
    _gauges(lines, "kubelet_volume_stats_available_bytes", [(c, 60 * 2**30) for c in claims])
    return "\n".join(lines) + "\n"


class ClusterExporter(ThreadingHTTPServer):
    """Serves fixed exposition texts by path on 127.0.0.1."""

    daemon_threads = True

    def __init__(self, pages: dict[str, str]) -> None:
        super().__init__(("127.0.0.1", 0), _PageHandler)
        self.pages = pages

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def scrape_jobs(self, interval: str) -> list[dict[str, Any]]:
        """One job per page, keeping the series' own labels as the cluster's jobs do."""
        return [
            {"job_name": path.strip("/"), "honor_labels": True, "metrics_path": path,
             "scrape_interval": interval, "scrape_timeout": interval,
             "static_configs": [{"targets": [self.address]}]}
            for path in self.pages
        ]  # fmt: skip


class _PageHandler(BaseHTTPRequestHandler):
    server: ClusterExporter

    def do_GET(self) -> None:
        page = self.server.pages.get(self.path)
        self.send_response(200 if page is not None else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.end_headers()
        self.wfile.write((page or "").encode())

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test's output is for failures."""


@contextlib.contextmanager
def cluster_exporter(objects: list[dict[str, Any]]) -> Iterator[ClusterExporter]:
    pages = {
        "/kube-state-metrics": kube_state_metrics(objects, time.time()),
        "/kubelet": kubelet_volume_stats(objects),
    }
    server = ClusterExporter(pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
