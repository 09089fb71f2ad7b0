"""Prometheus metrics of sutra-hybrid (`sutra_hybrid_*`), on a registry of their own.

A registry per service instance (not the process-global one) keeps two instances in one
process, as in tests, from colliding on metric names.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class HybridMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "sutra_hybrid_requests",
            "HTTP requests answered, by route, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.request_duration = Histogram(
            "sutra_hybrid_request_duration_seconds",
            "HTTP request handling time, by route",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.cache_hits = Counter(
            "sutra_hybrid_embedding_cache_hits", "Embeddings served from the LRU cache", registry=r
        )
        self.cache_misses = Counter(
            "sutra_hybrid_embedding_cache_misses", "Embeddings that had to be computed", registry=r
        )
        self.cache_size = Gauge(
            "sutra_hybrid_embedding_cache_entries", "Embeddings held in the cache", registry=r
        )
        self.queue_depth = Gauge(
            "sutra_hybrid_embed_queue_depth", "Texts waiting to be embedded", registry=r
        )
        self.queue_rejected = Counter(
            "sutra_hybrid_embed_queue_rejected",
            "Texts refused (503) because the embedding queue was full",
            registry=r,
        )
        self.embed_batch = Histogram(
            "sutra_hybrid_embed_batch_texts",
            "Texts embedded per embedder call (micro-batches)",
            buckets=_BATCH_BUCKETS,
            registry=r,
        )
        self.embed_duration = Histogram(
            "sutra_hybrid_embed_batch_seconds",
            "Time of one embedder call",
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.storage_errors = Counter(
            "sutra_hybrid_storage_errors",
            "Storage calls that failed, by gRPC status",
            ["code"],
            registry=r,
        )
        self.learned = Counter(
            "sutra_hybrid_learned",
            "Concepts and associations sent to storage, by kind",
            ["kind"],
            registry=r,
        )
        self.reasoning_paths = Histogram(
            "sutra_hybrid_reasoning_paths",
            "Reasoning paths found per query",
            buckets=(0, 1, 2, 3, 5, 10, 20, 50),
            registry=r,
        )
        self.device = Gauge(
            "sutra_hybrid_device_info",
            "1 for the device the embeddings are computed on (cpu or cuda)",
            ["device"],
            registry=r,
        )
        self.concepts_accessed = Histogram(
            "sutra_hybrid_query_concepts_accessed",
            "Concepts read from storage per query",
            buckets=(1, 5, 10, 25, 50, 100, 250, 500),
            registry=r,
        )
