"""`sutra up`: run the stack as local processes, prefix their logs, stop them all on Ctrl-C.

Services start in dependency order and each must be ready before the next starts, so a failure
is reported against the service that caused it. The children share one process group of their
own, so a terminal's Ctrl-C reaches `sutra up` alone. On exit (Ctrl-C, SIGTERM, SIGHUP, or a
child dying) they are stopped in reverse order with SIGTERM, which lets the storage server
commit its queue, then SIGKILL after a grace period (at once on a second stop signal). The signal
handlers only record the signal (`StopSignals`); the main loop sees it and stops the stack.
If `sutra up` itself is killed (SIGKILL included), each child notices through its lifeline
(`sutra.stack.lifeline`) and stops itself.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from sutra.common.serve import StopSignals
from sutra.stack.lifeline import Lifeline
from sutra.stack.services import Service

STOP_GRACE_SECONDS = 30.0
READY_TIMEOUT_SECONDS = 120.0
UP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)  # each stops the stack in order


class StackError(RuntimeError):
    """The stack cannot start; the message is one line for the user."""


class Stopped(Exception):
    """A stop signal arrived; raised by the main loop (never by a signal handler)."""


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
    signals: StopSignals
    out: TextIO = sys.stdout
    running: list[Running] = field(default_factory=list)
    lifeline: Lifeline = field(default_factory=Lifeline)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def say(self, name: str, line: str) -> None:
        width = max(len(s.name) for s in self.services)
        with self._lock:
            self.out.write(f"{name:<{width}} | {line}\n")
            self.out.flush()

    def _pump(self, name: str, stream: TextIO) -> None:
        for line in stream:
            self.say(name, line.rstrip("\n"))

    def check_stop(self) -> None:
        """Raise `Stopped` once a stop signal has arrived."""
        if self.signals.name is not None:
            raise Stopped(self.signals.name)

    def start(self, service: Service) -> Running:
        process = subprocess.Popen(
            self.lifeline.command(service.module, STOP_GRACE_SECONDS),
            env=self.environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            pass_fds=(self.lifeline.read_fd,),
            # One group of their own: a terminal's Ctrl-C reaches `sutra up` alone, which then
            # stops the children in reverse start order (the API before the store it writes to).
            process_group=self.running[0].process.pid if self.running else 0,
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
            self.check_stop()
            code = running.process.poll()
            if code is not None:
                raise StackError(f"{running.service.name} exited with code {code} while starting")
            ok, last = probe(running)
            if ok:
                return
            self.signals.wait(0.2)
        raise StackError(f"{running.service.name} not ready after {timeout:.0f} s: {last}")

    def dead(self) -> Running | None:
        return next((r for r in self.running if r.process.poll() is not None), None)

    def stop(self) -> None:
        """Stop in reverse start order, each before the next: callers go before what they call."""
        for running in reversed(self.running):
            if running.process.poll() is None:
                running.process.send_signal(signal.SIGTERM)
                if not self._exited(running.process, STOP_GRACE_SECONDS):
                    self.say(running.service.name, "still running; killing it")
                    running.process.kill()
                    running.process.wait()
            running.pump.join(timeout=2)

    def _exited(self, process: subprocess.Popen[str], timeout: float) -> bool:
        """Did `process` exit within `timeout`? Gives up early on a second stop signal."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                process.wait(timeout=0.1)
                return True
            except subprocess.TimeoutExpired:
                if len(self.signals.received) > 1 or time.monotonic() > deadline:
                    return False


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


def run(
    services: list[Service],
    data_dir: Path,
    *,
    after_ready: Callable[[Stack], None] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Start everything, wait until a child dies or the user stops us; always stop everyone.

    0 after a stop signal (SIGINT, SIGTERM, SIGHUP), 1 when a child died on its own.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    environ = stack_environment(data_dir, services)
    check_ports(services, environ)
    stack = Stack(services, environ, StopSignals(UP_SIGNALS).install(), out)
    try:
        return _serve(stack, after_ready)
    except Stopped as stopped:
        stack.say("sutra up", f"stopping ({stopped})")
        return 0
    finally:
        stack.stop()
        stack.lifeline.close()
        stack.signals.uninstall()


def _serve(stack: Stack, after_ready: Callable[[Stack], None] | None) -> int:
    """Start every service, then wait for a stop signal (raises `Stopped`) or a dead child."""
    for service in stack.services:
        stack.say(service.name, f"starting (python -m {service.module})")
        stack.wait_ready(stack.start(service))
        stack.say(service.name, "ready")
    if after_ready is not None:
        after_ready(stack)
    while (dead := stack.dead()) is None:
        stack.signals.wait(0.2)
        stack.check_stop()
    stack.say(dead.service.name, f"exited with code {dead.process.returncode}; stopping")
    return 1


def post_json(url: str, payload: object, timeout: float = 60.0) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read() or b"{}")
