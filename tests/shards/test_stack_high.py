"""`sutra up --tier high`: the tier table's shards beside the other services; what the API
learns lands on several shards, the API's stats are their sum, and a stop leaves nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from sutra.stack.services import installed
from sutra.storage.client import StorageClient
from sutra.storage.shards.map import shards_for_tier
from tests.replication.test_stack_medium import _free_run
from tests.stack.test_up import (
    READY_LINE,
    SUTRA,
    prefixed,
    stack_env,
    wait_for_line,
    wait_until_gone,
)

FACTS = [f"Sensor {n} measures humidity in greenhouse {n % 7}." for n in range(24)]


def _api(env: dict[str, str], method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{env['SUTRA_API_PORT']}{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read())


def test_up_high_splits_the_store_into_the_tables_shards(tmp_path: Path) -> None:
    count = shards_for_tier("high")
    assert count > 1, "the tier table gives high one shard: nothing to test"
    data_dir = tmp_path / "data"
    env = stack_env(data_dir)
    taken = {int(env[s.port_env]) for s in installed()}  # the ports stack_env chose
    for variable in ("SUTRA_STORAGE_SHARD_PORT", "SUTRA_STORAGE_SHARD_METRICS_PORT"):
        env[variable] = str(_free_run(count - 1, taken))
    process = subprocess.Popen(
        [SUTRA, "up", "--tier", "high", "--data-dir", str(data_dir), "--no-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = wait_for_line(process, READY_LINE, timeout=180)
        shard_names = [f"storage-shard-{n}" for n in range(2, count + 1)]
        for name in [*shard_names, *(s.name for s in installed())]:
            said = [text for who, text in map(prefixed, lines) if who == name]
            assert "ready" in said, "\n".join([name, *said[-12:]])
        _api(env, "POST", "/learn/batch", {"items": [{"content": f} for f in FACTS]})
        base = int(env["SUTRA_STORAGE_SHARD_PORT"])
        addresses = [f"127.0.0.1:{env['SUTRA_STORAGE_PORT']}"]
        addresses += [f"127.0.0.1:{base + n}" for n in range(count - 1)]
        per_shard = []
        for address in addresses:
            with StorageClient(address) as client:
                per_shard.append(client.stats().concepts)
        assert sum(1 for n in per_shard if n) >= 2, per_shard  # spread, not on one shard
        assert _api(env, "GET", "/stats")["concepts"] == sum(per_shard)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=90) == 0
        assert wait_until_gone(str(data_dir)) == []
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        wait_until_gone(str(data_dir))
