"""Prometheus metrics of the storage server (`sutra_storage_*`), on a registry of their own.

A registry per engine (not the process-global one) keeps two engines in one process,
as in tests, from colliding on metric names.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)


class StorageMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.writes = Counter(
            "sutra_storage_writes", "Items committed, by kind", ["kind"], registry=r
        )
        self.batches = Counter("sutra_storage_batches", "LearnBatch requests committed", registry=r)
        self.rejected = Counter(
            "sutra_storage_rejected_writes",
            "Writes refused with RESOURCE_EXHAUSTED, by reason",
            ["reason"],
            registry=r,
        )
        self.commit_size = Histogram(
            "sutra_storage_commit_batch_size",
            "Write operations per group commit",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.commit_seconds = Histogram(
            "sutra_storage_commit_seconds",
            "Time to apply and fsync one group commit",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.search_seconds = Histogram(
            "sutra_storage_search_seconds",
            "Vector search latency",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge("sutra_storage_queue_depth", "Writes waiting", registry=r)
        self.queue_capacity = Gauge(
            "sutra_storage_queue_capacity",
            "Writes the queue holds before new ones get RESOURCE_EXHAUSTED",
            registry=r,
        )
        self.concepts = Gauge("sutra_storage_concepts", "Concepts stored", registry=r)
        self.associations = Gauge("sutra_storage_associations", "Associations stored", registry=r)
        self.vectors = Gauge("sutra_storage_vectors", "Concept vectors stored", registry=r)
        self.sequence = Gauge("sutra_storage_sequence", "Last committed write sequence", registry=r)
        self.store_bytes = Gauge(
            "sutra_storage_store_bytes", "Bytes of the store in use", registry=r
        )
        self.map_size = Gauge(
            "sutra_storage_map_size_bytes",
            "Size the store may grow to (LMDB map size); writes fail beyond it",
            registry=r,
        )
        self.volume_used = Gauge(
            "sutra_storage_volume_used_bytes",
            "Bytes in use on the filesystem of the data directory",
            registry=r,
        )
        self.volume_capacity = Gauge(
            "sutra_storage_volume_capacity_bytes",
            "Size of the filesystem of the data directory",
            registry=r,
        )
        self.last_snapshot = Gauge(
            "sutra_storage_last_snapshot_timestamp_seconds",
            "Unix time of the last completed snapshot, kept in the store (0: never)",
            registry=r,
        )

    def bind(
        self,
        *,
        queue_depth: Callable[[], float],
        counts: Callable[[], dict[str, int]],
        store_bytes: Callable[[], float],
        queue_capacity: int,
        map_size: int,
        data_path: Path,
    ) -> None:
        """Compute the gauges from the engine's state at scrape time."""
        self.queue_depth.set_function(queue_depth)
        self.queue_capacity.set(queue_capacity)
        self.map_size.set(map_size)
        self.volume_used.set_function(lambda: volume_usage(data_path)[0])
        self.volume_capacity.set_function(lambda: volume_usage(data_path)[1])
        self.concepts.set_function(lambda: counts()["concepts"])
        self.associations.set_function(lambda: counts()["associations"])
        self.vectors.set_function(lambda: counts()["vectors"])
        self.sequence.set_function(lambda: counts()["sequence"])
        self.store_bytes.set_function(store_bytes)


def volume_usage(path: Path) -> tuple[int, int]:
    """(used, capacity) bytes of the filesystem holding `path`.

    The server reports its own volume so that the "volume filling up" alert needs no
    node-level exporter. Used is everything the server can no longer write to (blocks
    reserved for root included), so used / capacity reaches 1 exactly when writes fail.
    """
    st = os.statvfs(path)
    capacity = st.f_blocks * st.f_frsize
    return capacity - st.f_bavail * st.f_frsize, capacity
