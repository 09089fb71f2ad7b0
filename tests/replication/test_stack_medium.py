"""`sutra up --tier medium`: a local JetStream cluster, the writer and two followers beside the
other services; the API's writes reach every member, and a stop leaves nothing behind."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

from sutra.common.testing import poll
from sutra.stack.services import installed
from sutra.storage.testing import free_port
from tests.stack.test_up import (
    READY_LINE,
    SUTRA,
    prefixed,
    stack_env,
    wait_for_line,
    wait_until_gone,
)


def _free_run(count: int, taken: set[int]) -> int:
    """A port p with p .. p + count - 1 all free a moment ago and none in `taken`."""
    while True:
        base = free_port()
        wanted = set(range(base, base + count))
        if wanted & taken:
            continue
        try:
            for port in wanted:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        taken |= wanted
        return base


def _status(env: dict[str, str], readers: str) -> list[dict]:
    writer = f"127.0.0.1:{env['SUTRA_STORAGE_PORT']}"
    command = [sys.executable, "-m", "sutra.cli", "storage", "status", "--json"]
    result = subprocess.run(
        [*command, "--server", writer, "--readers", readers],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["members"]


def test_up_medium_runs_the_log_the_writer_and_two_followers(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = stack_env(data_dir)
    taken = {int(env[s.port_env]) for s in installed()}  # the ports stack_env chose
    for variable in ("SUTRA_NATS_PORT", "SUTRA_NATS_CLUSTER_PORT", "SUTRA_NATS_MONITOR_PORT"):
        env[variable] = str(_free_run(3, taken))
    for variable in ("SUTRA_STORAGE_REPLICA_PORT", "SUTRA_STORAGE_REPLICA_METRICS_PORT"):
        env[variable] = str(_free_run(2, taken))
    process = subprocess.Popen(
        [SUTRA, "up", "--tier", "medium", "--data-dir", str(data_dir), "--no-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = wait_for_line(process, READY_LINE, timeout=180)
        names = [f"nats-{i}" for i in (1, 2, 3)] + ["storage-server"]
        names += ["storage-replica-1", "storage-replica-2"]
        for name in [*names, *(s.name for s in installed())]:
            said = [text for who, text in map(prefixed, lines) if who == name]
            assert "ready" in said, "\n".join([name, *said[-12:]])
        port = int(env["SUTRA_STORAGE_REPLICA_PORT"])
        readers = f"127.0.0.1:{port},127.0.0.1:{port + 1}"
        request = urllib.request.Request(
            f"http://127.0.0.1:{env['SUTRA_API_PORT']}/learn",
            data=json.dumps({"content": "Smoke causes coughing."}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert reply.status in (200, 201)
        members = _status(env, readers)
        assert [m["role"] for m in members] == ["writer", "follower", "follower"]
        written = members[0]["sequence"]
        assert written >= 2  # the claim, then the API's write
        poll(
            lambda: all(m["sequence"] == written for m in _status(env, readers)),
            timeout=30,
            what="both followers at the writer's sequence",
        )
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == 0
        assert wait_until_gone(str(data_dir)) == []  # the nats-server children too
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        wait_until_gone(str(data_dir))
