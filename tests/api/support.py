"""Helpers of the API tests: real processes on 127.0.0.1 (storage, hybrid, api, redis)."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from sutra.common.testing import HttpService, free_port, poll, run_http_service

# Generous limits, so that only the tests about rate limits meet one.
NO_LIMITS = {
    "SUTRA_RATE_LIMIT_LEARN": "0",
    "SUTRA_RATE_LIMIT_BATCH": "0",
    "SUTRA_RATE_LIMIT_SEARCH": "0",
    "SUTRA_RATE_LIMIT_REASON": "0",
    "SUTRA_RATE_LIMIT_READ": "0",
    "SUTRA_RATE_LIMIT_DEFAULT": "0",
}


@contextlib.contextmanager
def run_hybrid(storage_address: str, log_dir: Path) -> Iterator[HttpService]:
    port = free_port()
    env = {
        "SUTRA_HYBRID_HOST": "127.0.0.1",
        "SUTRA_HYBRID_PORT": str(port),
        "SUTRA_STORAGE_SERVER": storage_address,
    }
    with run_http_service(
        "sutra.hybrid", env=env, port=port, log_path=log_dir / "hybrid.log"
    ) as service:
        yield service


@contextlib.contextmanager
def run_api(
    storage_address: str,
    hybrid_url: str,
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    ready_path: str = "/ready",
) -> Iterator[HttpService]:
    port = free_port()
    child_env = {
        "SUTRA_API_HOST": "127.0.0.1",
        "SUTRA_API_PORT": str(port),
        "SUTRA_STORAGE_SERVER": storage_address,
        "SUTRA_HYBRID_URL": hybrid_url,
        "SUTRA_REDIS_URL": "",
        **NO_LIMITS,
        **(env or {}),
    }
    log_path = log_dir / f"api-{port}.log"
    with run_http_service(
        "sutra.api", env=child_env, port=port, log_path=log_path, ready_path=ready_path
    ) as service:
        yield service


@contextlib.contextmanager
def frozen(pid: int) -> Iterator[None]:
    """The process stopped (SIGSTOP) for the block: what a GC pause, a stuck call or a
    partition looks like from outside. Always continued (SIGCONT) when the block ends."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def assert_error(
    response: httpx.Response,
    status: int,
    *,
    field: str | None = None,
    dependency: str | None = None,
    retry_after: bool = False,
) -> dict[str, Any]:
    """The response is the one error shape, with the status, and names what is at fault."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["status"] == status
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert set(error) <= {"status", "code", "message", "field", "dependency", "retry_after"}
    if field is not None:
        assert error.get("field") == field, error
    if dependency is not None:
        assert dependency in error.get("dependency", "").split(","), error
        assert dependency in error["message"], error
    if retry_after:
        assert re.fullmatch(r"\d+", response.headers.get("retry-after", "")), response.headers
        assert int(response.headers["retry-after"]) >= 1
    # The body says what the header says, and only when there is one.
    header = response.headers.get("retry-after")
    assert error.get("retry_after") == (int(header) if header else None), error
    return error


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a Prometheus text exposition (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        sample, _, value = line.rpartition(" ")
        base, _, rest = sample.partition("{")
        if base != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


@contextlib.contextmanager
def run_redis(
    log_dir: Path, args: Sequence[str] = ("--save", "", "--appendonly", "no")
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A real redis-server on a free loopback port, with `args` (default: no persistence).

    It runs in `log_dir`, so anything it would write to its working directory lands there.
    """
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed (apt-get install redis-server)"
    port = free_port()
    log = open(log_dir / f"redis-{port}.log", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [binary, *args, "--port", str(port), "--bind", "127.0.0.1"],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        cwd=log_dir,
    )
    try:
        import redis

        client = redis.Redis(port=port, socket_timeout=1)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return process.poll() is not None  # exited: stop polling, fail below

        poll(up, timeout=20, what="redis-server answering PING")
        assert process.poll() is None, f"redis-server exited with {process.returncode}"
        client.close()
        yield process, port
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        log.close()
