"""Prometheus metrics of a replicated store member (`sutra_storage_replication_*`).

Registered on the storage server's own registry, so they are scraped with the rest.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class ReplicationMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.applied = Gauge(
            "sutra_storage_replication_applied_sequence",
            "Last log sequence applied to this member's store",
            registry=r,
        )
        self.lag_entries = Gauge(
            "sutra_storage_replication_lag_entries",
            "Log entries the stream holds beyond what this member applied",
            registry=r,
        )
        self.lag_seconds = Gauge(
            "sutra_storage_replication_lag_seconds",
            "Age of the oldest log entry not yet applied (0 when caught up)",
            registry=r,
        )
        self.entries = Counter(
            "sutra_storage_replication_entries",
            "Log entries applied (their rate is the apply rate)",
            registry=r,
        )
        self.fence_rejections = Counter(
            "sutra_storage_replication_fence_rejections",
            "Appends the log refused because another writer had appended first",
            registry=r,
        )
        self.role = Gauge(
            "sutra_storage_replication_writer",
            "1 while this member is the shard's writer, 0 while it follows",
            registry=r,
        )
