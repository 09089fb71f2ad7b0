"""`sutra up`: run the stack as local processes, prefix their logs, stop them all on Ctrl-C.

Services start in dependency order and each must be ready before the next starts, so a failure
is reported against the service that caused it. Every child shares one process group with
nothing else: on exit (Ctrl-C, SIGTERM, or a child dying) they are stopped in reverse order with
SIGTERM, which lets the storage server commit its queue, then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sutra.stack.services import Service

STOP_GRACE_SECONDS = 30.0
READY_TIMEOUT_SECONDS = 120.0


class StackError(RuntimeError):
    """The stack cannot start; the message is one line for the user."""


def orphan_guard() -> list[str]:
    """A command prefix that stops a child when `sutra up` itself dies without cleaning up.

    The children run in their own session (so a terminal's Ctrl-C reaches `sutra up` alone),
    which also means nothing stops them if `sutra up` is killed with SIGKILL. On Linux,
    util-linux's `setpriv --pdeathsig TERM` asks the kernel to send them SIGTERM then.
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def check_ports(services: list[Service], environ: dict[str, str]) -> None:
    seen: dict[int, str] = {}
    for service in services:
        for variable, port in service.ports(environ).items():
            if port in seen:
                raise StackError(f"port {port} is set for both {seen[port]} and {variable}")
            seen[port] = variable
            if port_in_use(port):
                raise StackError(
                    f"port {port} ({service.name}, {variable}) is already in use; stop what "
                    f"listens there or set {variable} to another port"
                )


@dataclass
class Running:
    service: Service
    process: subprocess.Popen[str]
    pump: threading.Thread
    url: str


@dataclass
class Stack:
    """The running children, in start order."""

    services: list[Service]
    environ: dict[str, str]
    out: TextIO = sys.stdout
    running: list[Running] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def say(self, name: str, line: str) -> None:
        width = max(len(s.name) for s in self.services)
        with self._lock:
            self.out.write(f"{name:<{width}} | {line}\n")
            self.out.flush()

    def _pump(self, name: str, stream: TextIO) -> None:
        for line in stream:
            self.say(name, line.rstrip("\n"))

    def start(self, service: Service) -> Running:
        process = subprocess.Popen(
            [*orphan_guard(), sys.executable, "-u", "-m", service.module],
            env=self.environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            # Its own session: a terminal's Ctrl-C reaches `sutra up` alone, which then stops
            # the children in reverse start order (the API before the store it writes to).
            start_new_session=True,
        )
        assert process.stdout is not None
        pump = threading.Thread(target=self._pump, args=(service.name, process.stdout), daemon=True)
        pump.start()
        port = service.port(self.environ)
        url = f"127.0.0.1:{port}" if service.health == "grpc" else f"http://127.0.0.1:{port}"
        running = Running(service, process, pump, url)
        self.running.append(running)
        return running

    def wait_ready(self, running: Running, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            code = running.process.poll()
            if code is not None:
                raise StackError(f"{running.service.name} exited with code {code} while starting")
            ok, last = probe(running)
            if ok:
                return
            time.sleep(0.2)
        raise StackError(f"{running.service.name} not ready after {timeout:.0f} s: {last}")

    def dead(self) -> Running | None:
        return next((r for r in self.running if r.process.poll() is not None), None)

    def stop(self) -> None:
        """Stop in reverse start order, each before the next: callers go before what they call."""
        for running in reversed(self.running):
            if running.process.poll() is None:
                running.process.send_signal(signal.SIGTERM)
                try:
                    running.process.wait(timeout=STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    self.say(running.service.name, "did not stop in time; killing it")
                    running.process.kill()
                    running.process.wait()
            running.pump.join(timeout=2)


def probe(running: Running) -> tuple[bool, str]:
    """Is the service ready? (ok, what it said)."""
    if running.service.health == "grpc":
        from sutra.storage.client import StorageClient, StorageError

        try:
            with StorageClient(running.url, timeout=1.0) as client:
                return client.health(), "health check answered NOT_SERVING"
        except StorageError as exc:
            return False, str(exc)
    try:
        with urllib.request.urlopen(running.url + running.service.health, timeout=1.0) as reply:
            return reply.status == 200, f"HTTP {reply.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return False, str(exc)


def stack_environment(data_dir: Path, services: list[Service]) -> dict[str, str]:
    """The children's variables: the caller's, plus where each service finds the others."""
    environ = dict(os.environ)
    environ.setdefault("SUTRA_STORAGE_PATH", str(data_dir / "storage"))
    ports = {s.name: s.port(environ) for s in services}
    environ.setdefault("SUTRA_STORAGE_SERVER", f"127.0.0.1:{ports.get('storage-server', 50051)}")
    environ.setdefault("SUTRA_HYBRID_URL", f"http://127.0.0.1:{ports.get('sutra-hybrid', 8001)}")
    environ.setdefault("SUTRA_API_URL", f"http://127.0.0.1:{ports.get('sutra-api', 8000)}")
    metrics_port = environ.get("SUTRA_METRICS_PORT", "9091")
    environ.setdefault("SUTRA_STORAGE_METRICS_URL", f"http://127.0.0.1:{metrics_port}/metrics")
    if "sutra-client" in ports:
        environ.setdefault("SUTRA_CLIENT_URL", f"http://127.0.0.1:{ports['sutra-client']}")
    environ["PYTHONUNBUFFERED"] = "1"
    return environ


@contextlib.contextmanager
def signals_raise_keyboard_interrupt() -> Iterator[None]:
    """SIGTERM stops the stack the way Ctrl-C does."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(
    services: list[Service],
    data_dir: Path,
    *,
    after_ready: Callable[[Stack], None] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Start everything, wait until a child dies or the user stops us; always stop everyone."""
    data_dir.mkdir(parents=True, exist_ok=True)
    environ = stack_environment(data_dir, services)
    check_ports(services, environ)
    stack = Stack(services, environ, out)
    code = 0
    with signals_raise_keyboard_interrupt():
        try:
            for service in services:
                stack.say(service.name, f"starting (python -m {service.module})")
                stack.wait_ready(stack.start(service))
                stack.say(service.name, "ready")
            if after_ready is not None:
                after_ready(stack)
            while (dead := stack.dead()) is None:
                time.sleep(0.2)
            stack.say(dead.service.name, f"exited with code {dead.process.returncode}; stopping")
            code = 1
        except KeyboardInterrupt:
            stack.say("sutra up", "stopping")
        finally:
            stack.stop()
    return code


def post_json(url: str, payload: object, timeout: float = 60.0) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read() or b"{}")
