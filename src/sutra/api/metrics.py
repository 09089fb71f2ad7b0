"""The gateway's Prometheus metrics, in a registry of its own (one per application)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

# Gateway latencies: sub-millisecond cache hits up to multi-second reasoning.
_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        self.requests = Counter(
            "sutra_api_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "sutra_api_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.downstream = Histogram(
            "sutra_api_downstream_duration_seconds",
            "Time of calls to a dependency, by dependency and operation",
            ["dependency", "operation"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.circuit_open = Gauge(
            "sutra_api_circuit_open",
            "1 while the dependency's circuit breaker is open (calls refused), else 0",
            ["dependency"],
            registry=r,
        )
        self.rate_limited = Counter(
            "sutra_api_rate_limited",
            "Requests refused with 429, by route group",
            ["group"],
            registry=r,
        )
        self.rate_limit_evicted = Counter(
            "sutra_api_rate_limit_evicted",
            "Rate-limit buckets dropped before they refilled because the table was full "
            "(SUTRA_RATE_LIMIT_MAX_CLIENTS): each is a client whose count started over",
            registry=r,
        )
        self.cache_hits = Counter(
            "sutra_api_cache_hits", "/reason answers served from the cache", ["backend"], registry=r
        )
        self.cache_misses = Counter(
            "sutra_api_cache_misses", "/reason answers computed", ["backend"], registry=r
        )
        self.cache_errors = Counter(
            "sutra_api_cache_errors",
            "Cache operations that failed or were skipped (the request went on without it)",
            ["backend", "operation"],
            registry=r,
        )
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(route=route, method=method, status=str(status)),
                self.duration.labels(route=route, method=method),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
