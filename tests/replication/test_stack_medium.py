"""`sutra up --tier medium`: a local JetStream cluster, the writer and two followers beside the
other services; the API's writes reach every member, and a stop leaves nothing behind."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from sutra.common.testing import free_port_run, poll
from sutra.stack.services import installed
from sutra.stack.testing import run_up
from tests.stack.test_up import wait_until_gone


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
    ports = {
        variable: str(free_port_run(count))
        for variable, count in [
            ("SUTRA_NATS_PORT", 3),
            ("SUTRA_NATS_CLUSTER_PORT", 3),
            ("SUTRA_NATS_MONITOR_PORT", 3),
            ("SUTRA_STORAGE_REPLICA_PORT", 2),
            ("SUTRA_STORAGE_REPLICA_METRICS_PORT", 2),
        ]
    }
    storage = {"SUTRA_STORAGE_PATH": str(tmp_path / "data" / "storage")}
    with run_up(tmp_path, {**ports, **storage}, demo=False, args=["--tier", "medium"]) as stack:
        names = [f"nats-{i}" for i in (1, 2, 3)] + ["storage-server"]
        names += ["storage-replica-1", "storage-replica-2"]
        for name in [*names, *(s.name for s in installed())]:
            assert "ready" in stack.said(name), "\n".join([name, *stack.said(name)[-12:]])
        port = int(ports["SUTRA_STORAGE_REPLICA_PORT"])
        readers = f"127.0.0.1:{port},127.0.0.1:{port + 1}"
        reply = httpx.post(f"{stack.api}/learn", json={"content": "Smoke causes coughing."})
        assert reply.status_code in (200, 201), reply.text
        members = _status(stack.env, readers)
        assert [m["role"] for m in members] == ["writer", "follower", "follower"]
        written = members[0]["sequence"]
        assert written >= 2  # the claim, then the API's write
        poll(
            lambda: all(m["sequence"] == written for m in _status(stack.env, readers)),
            timeout=30,
            what="both followers at the writer's sequence",
        )
        assert stack.stop(timeout=90) == 0
        assert wait_until_gone(str(stack.data_dir)) == []  # the nats-server children too
