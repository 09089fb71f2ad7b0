"""`sutra up --tier high`: the tier table's shards beside the other services; what the API
learns lands on several shards, the API's stats are their sum, and a stop leaves nothing."""

from __future__ import annotations

from pathlib import Path

import httpx

from sutra.common.testing import free_port_run
from sutra.stack.services import installed
from sutra.stack.testing import run_up
from sutra.storage.client import StorageClient
from sutra.storage.shards.map import shards_for_tier
from tests.stack.test_up import wait_until_gone

FACTS = [f"Sensor {n} measures humidity in greenhouse {n % 7}." for n in range(24)]


def test_up_high_splits_the_store_into_the_tables_shards(tmp_path: Path) -> None:
    count = shards_for_tier("high")
    assert count > 1, "the tier table gives high one shard: nothing to test"
    ports = {
        variable: str(free_port_run(count - 1))
        for variable in ("SUTRA_STORAGE_SHARD_PORT", "SUTRA_STORAGE_SHARD_METRICS_PORT")
    }
    storage = {"SUTRA_STORAGE_PATH": str(tmp_path / "data" / "storage")}
    with run_up(tmp_path, {**ports, **storage}, demo=False, args=["--tier", "high"]) as stack:
        shard_names = [f"storage-shard-{n}" for n in range(2, count + 1)]
        for name in [*shard_names, *(s.name for s in installed())]:
            assert "ready" in stack.said(name), "\n".join([name, *stack.said(name)[-12:]])
        learned = httpx.post(
            f"{stack.api}/learn/batch", json={"items": [{"content": f} for f in FACTS]}, timeout=30
        )
        assert learned.status_code in (200, 201), learned.text
        base = int(ports["SUTRA_STORAGE_SHARD_PORT"])
        addresses = [f"127.0.0.1:{stack.env['SUTRA_STORAGE_PORT']}"]
        addresses += [f"127.0.0.1:{base + n}" for n in range(count - 1)]
        per_shard = []
        for address in addresses:
            with StorageClient(address) as client:
                per_shard.append(client.stats().concepts)
        assert sum(1 for n in per_shard if n) >= 2, per_shard  # spread, not on one shard
        stats = httpx.get(f"{stack.api}/stats", timeout=30).json()
        assert stats["concepts"] == sum(per_shard)
        assert stack.stop(timeout=90) == 0
        assert wait_until_gone(str(stack.data_dir)) == []
