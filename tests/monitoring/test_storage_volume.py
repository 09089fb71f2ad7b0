"""The storage server's volume gauges: statvfs of its data directory, read at scrape time."""

from __future__ import annotations

import os
from pathlib import Path

from prometheus_client import generate_latest

from sutra.storage.metrics import StorageMetrics, volume_usage

from .exposition import sample_value


def test_volume_usage_is_what_the_server_cannot_write(tmp_path: Path) -> None:
    used, capacity = volume_usage(tmp_path)
    st = os.statvfs(tmp_path)
    assert capacity == st.f_blocks * st.f_frsize
    assert 0 < used <= capacity


def test_bound_gauges_follow_the_engine_and_the_volume(tmp_path: Path) -> None:
    metrics = StorageMetrics()
    depth = [3]
    metrics.bind(
        queue_depth=lambda: depth[0],
        counts=lambda: {"concepts": 1, "associations": 2, "vectors": 3, "sequence": 4},
        store_bytes=lambda: 4096,
        queue_capacity=10,
        map_size=1 << 30,
        data_path=tmp_path,
    )
    depth[0] = 7
    page = generate_latest(metrics.registry).decode()
    assert sample_value(page, "sutra_storage_queue_depth") == 7
    assert sample_value(page, "sutra_storage_queue_capacity") == 10
    assert sample_value(page, "sutra_storage_map_size_bytes") == 1 << 30
    capacity = volume_usage(tmp_path)[1]
    assert sample_value(page, "sutra_storage_volume_capacity_bytes") == capacity
    assert 0 < sample_value(page, "sutra_storage_volume_used_bytes") <= capacity
