"""Start a real storage server process for tests and benchmarks (no pytest needed).

    with run_server(tmp_path / "data") as server:
        with StorageClient(server.address) as client:
            ...

The server is `python -m sutra.storage` in a subprocess on 127.0.0.1, on free ports,
with its stderr (JSON log lines) kept in `<data_dir>-server.log` beside the data directory.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sutra.common.testing import ServiceProcess, free_port

__all__ = ["ServerProcess", "free_port", "run_server", "wait_serving"]


@dataclass
class ServerProcess(ServiceProcess):
    address: str = ""
    port: int = 0
    metrics_port: int = 0
    data_dir: Path = Path()


def wait_serving(address: str, timeout: float, process: subprocess.Popen[bytes] | None) -> None:
    """Poll grpc.health.v1 until SERVING; raise if the process exits or time runs out."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    # Retry the connection quickly: the default reconnect backoff starts at one second.
    options = [("grpc.initial_reconnect_backoff_ms", 50), ("grpc.max_reconnect_backoff_ms", 250)]
    with grpc.insecure_channel(address, options=options) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"storage server exited with code {process.returncode}")
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"storage server at {address} not serving after {timeout} s")
            time.sleep(0.05)


@contextlib.contextmanager
def run_server(
    data_dir: Path | str,
    *,
    port: int | None = None,
    metrics_port: int | None = None,
    env: Mapping[str, str] | None = None,
    startup_timeout: float = 60.0,
    log_path: Path | None = None,
) -> Iterator[ServerProcess]:
    """Run a storage server on `data_dir` until the block ends (then SIGTERM, then SIGKILL)."""
    data_dir = Path(data_dir)
    port = port or free_port()
    metrics_port = free_port() if metrics_port is None else metrics_port
    if log_path is None:  # beside the data directory, never inside it
        log_path = data_dir.parent / f"{data_dir.name}-server.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
    child_env = {
        **os.environ,
        "SUTRA_STORAGE_PATH": str(data_dir),
        "SUTRA_STORAGE_HOST": "127.0.0.1",
        "SUTRA_STORAGE_PORT": str(port),
        "SUTRA_METRICS_PORT": str(metrics_port),
        **(env or {}),
    }
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "sutra.storage"],
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
    server = ServerProcess(
        process=process,
        address=f"127.0.0.1:{port}",
        port=port,
        metrics_port=metrics_port,
        data_dir=data_dir,
        log_path=log_path,
    )
    try:
        try:
            wait_serving(server.address, startup_timeout, process)
        except Exception as exc:
            tail = "\n".join(server.log().splitlines()[-20:])
            raise RuntimeError(f"{exc}; server log:\n{tail}") from None
        yield server
    finally:
        if process.poll() is None:
            try:
                server.terminate(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
