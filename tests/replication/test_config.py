"""Replication configured wrongly: the server stops at once with one clear line (exit 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sutra.common.testing import free_port
from tests.replication.support import Shard


def _run(env: dict[str, str], data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    child = {
        **os.environ,
        "SUTRA_STORAGE_PATH": str(data),
        "SUTRA_STORAGE_PORT": str(free_port()),
        "SUTRA_METRICS_PORT": "0",
        "SUTRA_LOG_LEVEL": "ERROR",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "sutra.storage", *args],
        env=child,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("sutra-storage:")]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_no_nats_reachable(tmp_path: Path) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    env = {"SUTRA_STORAGE_NATS_URL": url, "SUTRA_STORAGE_NATS_CONNECT_SECONDS": "1"}
    line = _one_line(_run(env, tmp_path / "data"))
    assert f"cannot reach NATS at {url} within 1 s" in line


def test_a_follower_of_a_stream_that_does_not_exist(shard: Shard, tmp_path: Path) -> None:
    env = {**shard.env("follower"), "SUTRA_STORAGE_STREAM": "NO_SUCH_STREAM"}
    line = _one_line(_run(env, tmp_path / "data"))
    assert "stream NO_SUCH_STREAM does not exist" in line


def test_a_store_ahead_of_its_stream(shard: Shard, tmp_path: Path) -> None:
    shard.start("writer", "writer")
    with shard.client("writer") as client:
        client.learn_concept("applied here")
    shard.members["writer"].terminate()
    env = {**shard.env("writer"), "SUTRA_STORAGE_STREAM": f"{shard.stream}_OTHER"}
    line = _one_line(_run(env, shard.root / "writer"))
    assert "wrong stream" in line


def test_an_unknown_role_option(tmp_path: Path) -> None:
    result = _run({}, tmp_path / "data", "--role", "leader")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("sutra-storage: usage:")
