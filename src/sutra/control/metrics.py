"""sutra-control's own Prometheus metrics (`sutra_control_*`), on a registry of their own.

They describe the dashboard, not the services it watches: those publish their own metrics.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ControlMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.rounds = Counter("sutra_control_rounds", "Sampling rounds completed", registry=r)
        self.round_seconds = Histogram(
            "sutra_control_round_seconds",
            "Time to read every service once",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.readings = Counter(
            "sutra_control_readings",
            "Service readings, by service and the status they found",
            ["service", "status"],
            registry=r,
        )
        self.subscribers = Gauge(
            "sutra_control_websocket_clients", "Open dashboard WebSockets", registry=r
        )
        self.refused = Counter(
            "sutra_control_refused",
            "Requests refused for a missing or wrong token, by kind (http, websocket)",
            ["kind"],
            registry=r,
        )
