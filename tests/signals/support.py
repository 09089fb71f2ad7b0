"""Helpers of the stop-signal tests: start a real service, SIGTERM it, expect exit 0 in time."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from sutra.common.testing import (
    HttpService,
    ServiceProcess,
    dead_url,
    free_port,
    start_http_service,
)

STOP_SECONDS = 10.0  # every orderly stop must end within this, under load too
# SIGTERMs per service and test. Lower it to iterate faster locally; the default is the bar.
ROUNDS = int(os.environ.get("SUTRA_SIGTERM_ROUNDS", "30"))
STOPPED = '"event":"stopped","signal":"SIGTERM"'
STOPPING = '"event":"stopping","signal":"SIGTERM"'

_libc = ctypes.CDLL(None, use_errno=True)


def other_threads(pid: int) -> list[int]:
    """The thread ids of `pid` other than its main thread."""
    try:
        return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)
    except FileNotFoundError:
        return []


def sigterm(process: subprocess.Popen[bytes], round_: int) -> str:
    """SIGTERM `process`; on odd rounds to one of its other threads. Says where it went.

    `kill` lets the kernel pick the thread, nearly always the main one; a signal taken by
    another thread (a gRPC poller, an executor worker) must stop the service just the same.
    """
    threads = other_threads(process.pid) if round_ % 2 and hasattr(_libc, "tgkill") else []
    if threads:
        tid = threads[(round_ // 2) % len(threads)]
        if _libc.tgkill(process.pid, tid, signal.SIGTERM) == 0:  # else it just ended
            return f"thread {tid}"
    process.send_signal(signal.SIGTERM)
    return "process"


def stop_in_time(service: ServiceProcess, round_: int, what: str) -> None:
    """SIGTERM (see `sigterm`); the process must exit 0 within STOP_SECONDS."""
    process = service.process
    target = sigterm(process, round_)
    try:
        code = process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        raise AssertionError(
            f"{what} round {round_}: SIGTERM to {target}, still running after {STOP_SECONDS} s"
        ) from None
    assert code == 0, f"{what} round {round_}: SIGTERM to {target}, exit {code}"


def http_env(prefix: str, port: int, **extra: str) -> dict[str, str]:
    """A service's own host and port, every dependency pointed at a port where nothing listens
    (a stop must not depend on them), and no rate limits."""
    return {
        f"SUTRA_{prefix}_HOST": "127.0.0.1",
        f"SUTRA_{prefix}_PORT": str(port),
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{free_port()}",
        "SUTRA_STORAGE_METRICS_URL": dead_url() + "/metrics",
        "SUTRA_HYBRID_URL": dead_url(),
        "SUTRA_API_URL": dead_url(),
        "SUTRA_CLIENT_URL": dead_url(),
        "SUTRA_REDIS_URL": "",
        "SUTRA_RATE_LIMIT_LEARN": "0",
        "SUTRA_RATE_LIMIT_DEFAULT": "0",
        **extra,
    }


def start_http(
    module: str, prefix: str, log_path: Path, env: Mapping[str, str] | None = None
) -> HttpService:
    """`python -m module` on a free port (not waited for: call `wait_ready`)."""
    port = free_port()
    return start_http_service(
        module, env=http_env(prefix, port, **(env or {})), port=port, log_path=log_path
    )


def count_in_log(path: Path, needle: str) -> int:
    return path.read_text(errors="replace").count(needle)
