"""The gateway's Prometheus metrics, in a registry of its own (one per application)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.core import GaugeMetricFamily, Metric

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
        # sutra_api_circuit_open and the other gauges of the guards: `watch`.
        self.rejected = Counter(
            "sutra_api_dependency_rejected",
            "Calls to a dependency refused without being made, by reason: open (circuit "
            "breaker), bulkhead (too many in flight), deadline (the request's budget was spent)",
            ["dependency", "reason"],
            registry=r,
        )
        self.outcomes = Counter(
            "sutra_api_dependency_calls",
            "Outcomes the dependency's circuit breaker recorded, by outcome (success: it "
            "answered, even with an error such as a 404; failure): its calls that ended, and "
            "for storage also what hybrid's answers showed of it",
            ["dependency", "outcome"],
            registry=r,
        )
        self.slow_calls = Counter(
            "sutra_api_dependency_slow_calls",
            "Calls to a dependency that took its slow-call time or more "
            "(SUTRA_STORAGE_SLOW_CALL_SECONDS, SUTRA_HYBRID_SLOW_CALL_SECONDS)",
            ["dependency"],
            registry=r,
        )
        self.transitions = Counter(
            "sutra_api_circuit_transitions",
            "Circuit breaker state changes, by dependency and the state entered",
            ["dependency", "state"],
            registry=r,
        )
        self.degraded = Counter(
            "sutra_api_degraded_answers",
            "/reason answers served stale from the cache because the dependency named was "
            "unavailable (marked X-Sutra-Degraded)",
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

    def watch(self, guards: Sequence[Guarded]) -> None:
        """Export the gauges of these dependencies' guards."""
        self.registry.register(GuardCollector(guards))

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


class Guarded(Protocol):
    """What `GuardCollector` reads of a dependency's guard (`sutra.api.guard.Guard`)."""

    dependency: str

    def gauges(self) -> tuple[str, int, int]:
        """(breaker state, calls in flight, bulkhead limit)."""
        ...


_STATES = ("closed", "open", "half_open")


class GuardCollector:
    """The breakers' and bulkheads' gauges, read from their state at each scrape (an open
    breaker turns half-open by the clock, with no call to update a gauge)."""

    def __init__(self, guards: Sequence[Guarded]) -> None:
        self.guards = guards

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        yield from self._families(read=True)

    def _families(self, read: bool = False) -> Iterator[Metric]:
        circuit_open = GaugeMetricFamily(
            "sutra_api_circuit_open",
            "1 while the dependency's circuit breaker is open or half-open (calls refused or "
            "limited to probes), else 0",
            labels=["dependency"],
        )
        state = GaugeMetricFamily(
            "sutra_api_circuit_state",
            "1 for the state the dependency's circuit breaker is in, 0 for the others",
            labels=["dependency", "state"],
        )
        in_flight = GaugeMetricFamily(
            "sutra_api_bulkhead_in_flight",
            "Calls to the dependency in flight from this gateway",
            labels=["dependency"],
        )
        limit = GaugeMetricFamily(
            "sutra_api_bulkhead_limit",
            "Most calls to the dependency in flight at once (SUTRA_BULKHEAD_*); more are refused",
            labels=["dependency"],
        )
        for guard in self.guards if read else ():
            current, flying, most = guard.gauges()
            name = guard.dependency
            circuit_open.add_metric([name], 0 if current == "closed" else 1)
            for each in _STATES:
                state.add_metric([name, each], 1 if each == current else 0)
            in_flight.add_metric([name], flying)
            limit.add_metric([name], most)
        yield from (circuit_open, state, in_flight, limit)
