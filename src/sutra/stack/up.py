"""`sutra up`: run the stack as local processes, keep them running, stop them all on Ctrl-C.

Services start in dependency order and each must be ready before the next starts, so a failure
is reported against the service that caused it. Then `sutra up` supervises them as the kubelet
does a pod's containers with `restartPolicy: Always`: a member that exits or is killed is
started again after a back-off delay (`Backoff`: 1 s doubling to 30 s, back to 1 s once it has
stayed ready for a minute, as in CrashLoopBackOff) and watched until it is ready again. Each
exit is one log line with the restart's number and delay, so a member that crash-loops is
reported once per back-off, not once per probe. Every change of a member's state is written to
the data directory (`sutra.stack.status`), where `sutra status` reads it.

The children share one process group of their own, so a terminal's Ctrl-C reaches `sutra up`
alone. On a stop signal (Ctrl-C, SIGTERM, SIGHUP) they are stopped in reverse order with
SIGTERM, which lets the storage server commit its queue, then SIGKILL after a grace period (at
once on a second stop signal); a member backing off is not started again. The signal handlers
only record the signal (`StopSignals`); the main loop sees it and stops the stack. If `sutra up`
itself is killed (SIGKILL included), each child notices through its lifeline
(`sutra.stack.lifeline`) and stops itself.
"""

from __future__ import annotations

import contextlib
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
from typing import NoReturn, TextIO

from sutra.common.serve import StopSignals
from sutra.stack.lifeline import Lifeline
from sutra.stack.services import Service
from sutra.stack.status import (
    BACKING_OFF,
    READY,
    STARTING,
    STOPPED,
    WAITING,
    alive,
    read_state,
    write_state,
)

STOP_GRACE_SECONDS = 30.0
READY_TIMEOUT_SECONDS = 120.0  # a start that is not ready by then is killed and backs off
LOOK_SECONDS = 0.2  # how often the supervisor looks at its members
UP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)  # each stops the stack in order


class StackError(RuntimeError):
    """The stack cannot start; the message is one line for the user."""


class Stopped(Exception):
    """A stop signal arrived; raised by the main loop (never by a signal handler)."""


@dataclass(frozen=True)
class Backoff:
    """The delay before restart number n of a member that keeps exiting, as the kubelet's
    CrashLoopBackOff: `initial` doubling up to `cap`. A member that stayed ready for
    `reset_after` seconds has recovered: its next exit starts from `initial` again."""

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    reset_after: float = 60.0

    def delay(self, failures: int) -> float:
        """The delay after the `failures`-th exit in a row (1, 2, ...)."""
        return min(self.cap, self.initial * self.factor ** max(0, failures - 1))


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


def service_url(service: Service, environ: dict[str, str]) -> str:
    port = service.port(environ)
    return f"127.0.0.1:{port}" if service.health == "grpc" else f"http://127.0.0.1:{port}"


@dataclass
class Member:
    """One service of the stack and its current process (None while waiting or backing off).

    Times are `time.monotonic()` values: a clock change does not move a back-off.
    """

    service: Service
    url: str
    state: str = WAITING
    process: subprocess.Popen[str] | None = None
    pump: threading.Thread | None = None
    restarts: int = 0
    failures: int = 0  # exits in a row, without a long enough ready spell between: the delay
    started: float = 0.0
    ready_since: float | None = None
    restart_at: float | None = None
    last_exit: int | None = None

    def summary(self, wall: Callable[[float | None], float | None]) -> dict[str, object]:
        """This member in the state file; `wall` turns monotonic times into unix seconds."""
        running = self.state in (STARTING, READY) and self.process is not None
        return {
            "name": self.service.name,
            "pid": self.process.pid if running and self.process else None,
            "state": self.state,
            "restarts": self.restarts,
            "url": self.url,
            "started_at": wall(self.started) if running else None,
            "ready_at": wall(self.ready_since) if self.state == READY else None,
            "restart_at": wall(self.restart_at) if self.state == BACKING_OFF else None,
            "last_exit": self.last_exit,
        }


@dataclass
class Stack:
    """The members, in start order, and what `sutra up` does with them."""

    services: list[Service]
    environ: dict[str, str]
    signals: StopSignals
    data_dir: Path
    out: TextIO = sys.stdout
    backoff: Backoff = field(default_factory=Backoff)
    members: list[Member] = field(default_factory=list)
    lifeline: Lifeline = field(default_factory=Lifeline)
    phase: str = STARTING  # the stack's: starting, ready (all were), stopped
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _save_failed: bool = False

    def __post_init__(self) -> None:
        self.members = [Member(s, service_url(s, self.environ)) for s in self.services]

    def member(self, name: str) -> Member:
        return next(m for m in self.members if m.service.name == name)

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

    def save(self) -> None:
        """Write the state file; a failure to write is said once and does not stop the stack."""
        now, wall_now = time.monotonic(), time.time()

        def wall(moment: float | None) -> float | None:
            return None if moment is None else round(wall_now - (now - moment), 3)

        state = {
            "pid": os.getpid(),
            "state": self.phase,
            "updated_at": round(wall_now, 3),
            "members": [m.summary(wall) for m in self.members],
        }
        try:
            write_state(self.data_dir, state)
        except OSError as exc:
            if not self._save_failed:
                self.say("sutra up", f"cannot write the state file: {exc}")
            self._save_failed = True

    def spawn(self, member: Member) -> None:
        """Start the member's process; never once a stop signal has arrived."""
        self.check_stop()
        service = member.service
        again = f"restart {member.restarts}, " if member.restarts else ""
        self.say(service.name, f"starting ({again}python -m {service.module})")
        process = self._popen(service)
        assert process.stdout is not None
        pump = threading.Thread(target=self._pump, args=(service.name, process.stdout), daemon=True)
        pump.start()
        member.process, member.pump = process, pump
        member.state, member.started, member.ready_since = STARTING, time.monotonic(), None
        self.save()

    def _popen(self, service: Service) -> subprocess.Popen[str]:
        try:
            return self._popen_in_group(service, self._group())
        except PermissionError:  # the group emptied between the look and the start
            return self._popen_in_group(service, 0)

    def _group(self) -> int:
        """The children's process group, or 0 (a new one) when none of them is running."""
        for member in self.members:
            if member.process is not None and member.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    return os.getpgid(member.process.pid)
        return 0

    def _popen_in_group(self, service: Service, group: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.lifeline.command(service.module, STOP_GRACE_SECONDS),
            env={**self.environ, **service.env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            pass_fds=(self.lifeline.read_fd,),
            # One group of their own: a terminal's Ctrl-C reaches `sutra up` alone, which then
            # stops the children in reverse start order (the API before the store it writes to).
            process_group=group,
        )

    def supervise(self) -> None:
        """Look at every member once: exits, readiness, stuck starts, back-offs that ended."""
        self.check_stop()
        now = time.monotonic()
        for member in self.members:
            if member.state == BACKING_OFF and member.restart_at is not None:
                if now >= member.restart_at:
                    self.spawn(member)
            elif member.process is None or member.state == STOPPED:
                continue
            elif (code := member.process.poll()) is not None:
                self._exited(member, code)
            elif member.state == STARTING:
                self._check_ready(member, now)
            elif member.failures and now - (member.ready_since or now) >= self.backoff.reset_after:
                member.failures = 0  # ready long enough: its next exit starts the delays over

    def _check_ready(self, member: Member, now: float) -> None:
        assert member.process is not None
        ok, last = probe(member)
        if ok:
            member.state, member.ready_since = READY, time.monotonic()
            again = f" (restart {member.restarts})" if member.restarts else ""
            self.say(member.service.name, f"ready{again}")
            self.save()
        elif now - member.started > READY_TIMEOUT_SECONDS:
            self.say(
                member.service.name,
                f"not ready after {READY_TIMEOUT_SECONDS:.0f} s ({last}); killing it",
            )
            member.process.kill()
            self._exited(member, member.process.wait())

    def _exited(self, member: Member, code: int) -> None:
        """The member's process is gone: say so once, and back off before the restart."""
        if member.pump is not None:
            member.pump.join(timeout=1)  # its last lines before the line about its exit
        member.failures += 1
        member.restarts += 1
        member.last_exit = code
        delay = self.backoff.delay(member.failures)
        member.state, member.process = BACKING_OFF, None
        member.restart_at = time.monotonic() + delay
        self.say(
            member.service.name,
            f"exited with code {code}; restart {member.restarts} in {delay:g} s",
        )
        self.save()

    def stop(self) -> None:
        """Stop in reverse start order, each before the next: callers go before what they call."""
        for member in reversed(self.members):
            process = member.process
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                if not self._stopped_within(process, STOP_GRACE_SECONDS):
                    self.say(member.service.name, "still running; killing it")
                    process.kill()
                    process.wait()
            if member.pump is not None:
                member.pump.join(timeout=2)
            member.state = STOPPED
        self.phase = STOPPED
        self.save()

    def _stopped_within(self, process: subprocess.Popen[str], timeout: float) -> bool:
        """Did `process` exit within `timeout`? Gives up early on a second stop signal."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                process.wait(timeout=0.1)
                return True
            except subprocess.TimeoutExpired:
                if len(self.signals.received) > 1 or time.monotonic() > deadline:
                    return False


def probe(member: Member) -> tuple[bool, str]:
    """Is the service ready? (ok, what it said)."""
    if member.service.health == "grpc":
        from sutra.storage.client import StorageClient, StorageError

        try:
            with StorageClient(member.url, timeout=1.0) as client:
                return client.health(), "health check answered NOT_SERVING"
        except StorageError as exc:
            return False, str(exc)
    try:
        with urllib.request.urlopen(member.url + member.service.health, timeout=1.0) as reply:
            return reply.status == 200, f"HTTP {reply.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return False, str(exc)


def stack_environment(data_dir: Path, services: list[Service]) -> dict[str, str]:
    """The children's variables: the caller's, plus where each service finds the others."""
    environ = dict(os.environ)
    environ.setdefault("SUTRA_STORAGE_PATH", str(data_dir / "storage"))
    environ.setdefault("SUTRA_JOBS_DIR", str(data_dir / "jobs"))  # the API's bulk-ingest jobs
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


def check_not_running(data_dir: Path) -> None:
    """Two stacks on one data directory would fight over its store: refuse the second."""
    previous = read_state(data_dir)
    if previous and previous.get("state") != STOPPED and alive(previous.get("pid")):
        raise StackError(
            f"sutra up (pid {previous['pid']}) already runs on {data_dir}; stop it first "
            f"(`sutra status --data-dir {data_dir}` shows it)"
        )


def run(
    services: list[Service],
    data_dir: Path,
    *,
    after_ready: Callable[[Stack], None] | None = None,
    out: TextIO = sys.stdout,
    backoff: Backoff | None = None,
) -> int:
    """Start everything and keep it running until a stop signal; always stop everyone.

    Returns 0 after a stop signal (SIGINT, SIGTERM, SIGHUP): members that exit are restarted,
    so only a stop ends the stack.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    check_not_running(data_dir)
    environ = stack_environment(data_dir, services)
    check_ports(services, environ)
    signals = StopSignals(UP_SIGNALS).install()
    stack = Stack(services, environ, signals, data_dir, out, backoff or Backoff())
    try:
        _serve(stack, after_ready)
    except Stopped as stopped:
        stack.say("sutra up", f"stopping ({stopped})")
        return 0
    finally:
        stack.stop()
        stack.lifeline.close()
        stack.signals.uninstall()


def _serve(stack: Stack, after_ready: Callable[[Stack], None] | None) -> NoReturn:
    """Start every member in order, then supervise them until a stop signal (`Stopped`)."""
    stack.save()
    for member in stack.members:
        stack.spawn(member)
        stack.supervise()
        while member.state != READY:  # restarted meanwhile if it exits: the next waits
            stack.signals.wait(LOOK_SECONDS)
            stack.supervise()
    stack.phase = READY
    stack.save()
    if after_ready is not None:
        after_ready(stack)
    while True:
        stack.signals.wait(LOOK_SECONDS)
        stack.supervise()


def post_json(url: str, payload: object, timeout: float = 60.0) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return json.loads(reply.read() or b"{}")
