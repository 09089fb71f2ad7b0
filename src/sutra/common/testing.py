"""Start a real HTTP service process for tests, benchmarks and local runs (no pytest needed).

    with run_http_service("sutra.hybrid", env={...}, port=free_port(), log_path=p) as svc:
        httpx.get(f"{svc.url}/ping")

The service is `python -m <module>` in a subprocess; the block starts once GET `ready_path`
answers 200, and on exit the process gets SIGTERM (then SIGKILL if it does not stop).
Its stdout and stderr (JSON log lines) go to `log_path`.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "HttpService",
    "ServiceProcess",
    "dead_url",
    "free_port",
    "poll",
    "run_http_service",
    "start_http_service",
    "wait_http_ready",
]


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1, never one this process handed out.

    The kernel may give the same ephemeral port to two binds in a row once the first socket is
    closed, so two calls could name one port for two services; a port is handed out once.
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def free_port_run(count: int) -> int:
    """A port p with p .. p + count - 1 all free a moment ago and none handed out before (for
    services that take consecutive ports from one base); all of them are handed out now."""
    while True:
        base = free_port()
        wanted = set(range(base + 1, base + count))
        if wanted & _HANDED_OUT:
            continue
        try:
            for port in wanted:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        _HANDED_OUT.update(wanted)
        return base


def dead_url() -> str:
    """An http URL where nothing listens (a dependency that is down)."""
    return f"http://127.0.0.1:{free_port()}"


def poll(
    check: Callable[[], Any], *, timeout: float, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Call `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s (last: {last!r})")
        time.sleep(interval)


@dataclass
class ServiceProcess:
    """A service started as a child process, with its log file."""

    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> int:
        """SIGKILL: the crash that durability is measured against. Returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        return self.process.wait()

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait for the orderly stop; the exit code (0 when it stopped cleanly)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Make sure it is gone: SIGTERM, then SIGKILL after `timeout` (a cleanup, not a test)."""
        if self.process.poll() is None:
            try:
                self.terminate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class HttpService(ServiceProcess):
    module: str = ""
    host: str = "127.0.0.1"
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def wait_ready(self, path: str = "/ready", timeout: float = 60.0) -> None:
        """Poll GET path until 200; RuntimeError naming the module, with its log's tail."""
        try:
            wait_http_ready(self.host, self.port, path, timeout, self.process)
        except Exception as exc:
            tail = "\n".join(self.log().splitlines()[-20:])
            raise RuntimeError(f"{self.module}: {exc}; log:\n{tail}") from None


def _status(host: str, port: int, path: str, timeout: float) -> int | None:
    """The HTTP status of GET path, or None when nothing answered."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def wait_http_ready(
    host: str,
    port: int,
    path: str,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll GET path until 200; raise if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    last: int | None = None
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode}")
        last = _status(host, port, path, timeout=2.0)
        if last == 200:
            return
        if time.monotonic() > deadline:
            seen = "no answer" if last is None else f"last status {last}"
            raise TimeoutError(f"http://{host}:{port}{path} not 200 after {timeout} s ({seen})")
        time.sleep(0.05)


def start_http_service(
    module: str,
    *,
    env: Mapping[str, str],
    port: int,
    log_path: Path | str,
    host: str = "127.0.0.1",
) -> HttpService:
    """Start `python -m module` and return at once: several can then start side by side
    (`wait_ready` each). The caller stops it; `run_http_service` does both."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", module],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
        )
    return HttpService(process=process, module=module, host=host, port=port, log_path=log_path)


@contextlib.contextmanager
def run_http_service(
    module: str,
    *,
    env: Mapping[str, str],
    port: int,
    log_path: Path | str,
    host: str = "127.0.0.1",
    ready_path: str = "/ready",
    startup_timeout: float = 60.0,
) -> Iterator[HttpService]:
    """Run `python -m module` until the block ends (then SIGTERM, then SIGKILL).

    `env` is added to this process's environment; the caller sets the service's own host and
    port variables (e.g. SUTRA_HYBRID_PORT) to match `host` and `port`.
    """
    service = start_http_service(module, env=env, port=port, log_path=log_path, host=host)
    try:
        service.wait_ready(ready_path, startup_timeout)
        yield service
    finally:
        service.stop()
