"""The sampling loop: read every service each interval, keep the recent past, push to the page.

One loop per process feeds every open dashboard, so the services are read once per interval
however many operators watch. A round reads all services side by side, each under a deadline,
so a dead service costs a round that deadline and nothing more; an unexpected error in a round
is logged and the next round runs as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from sutra.common.logging import log_event
from sutra.control.collectors import Collector, Reading, read_within
from sutra.control.figures import figures, health_entry
from sutra.control.metrics import ControlMetrics

log = logging.getLogger("sutra.control")

#: The figures kept for the charts, as `group.name` paths into a snapshot's `metrics`.
SERIES = (
    "storage.concepts",
    "storage.associations",
    "storage.write_rate",
    "storage.queue_depth",
    "api.request_rate",
    "api.error_ratio",
    "api.latency_ms.p50",
    "api.latency_ms.p95",
    "api.latency_ms.p99",
    "hybrid.request_rate",
    "hybrid.queue_depth",
    "hybrid.latency_ms.p95",
)


def pick(metrics: dict[str, Any], path: str) -> float | None:
    value: Any = metrics
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


class Monitor:
    def __init__(
        self,
        collectors: Sequence[Collector],
        *,
        interval: float,
        deadline: float,
        history_points: int,
        metrics: ControlMetrics | None = None,
    ) -> None:
        self.collectors = list(collectors)
        self.interval = interval
        self.deadline = deadline
        self.metrics = metrics or ControlMetrics()
        self.history: deque[dict[str, Any]] = deque(maxlen=history_points)
        self.latest: dict[str, Any] | None = None
        self._previous: dict[str, Reading] | None = None
        self._previous_at = 0.0
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    async def round(self) -> dict[str, Any]:
        """Read every service once; the snapshot `{health, metrics, timestamp}`."""
        started = time.monotonic()
        readings = await asyncio.gather(*(read_within(c, self.deadline) for c in self.collectors))
        now = time.monotonic()
        current = {r.name: r for r in readings}
        seconds = now - self._previous_at if self._previous is not None else 0.0
        snapshot = {
            "timestamp": time.time(),
            "interval": self.interval,
            "health": {r.name: health_entry(r) for r in readings},
            "metrics": figures(self._previous, current, seconds),
        }
        self._previous, self._previous_at = current, now
        self.latest = snapshot
        self.history.append(
            {
                "timestamp": snapshot["timestamp"],
                "values": {path: pick(snapshot["metrics"], path) for path in SERIES},
                "status": {name: entry["status"] for name, entry in snapshot["health"].items()},
            }
        )
        self.metrics.rounds.inc()
        self.metrics.round_seconds.observe(now - started)
        for reading in readings:
            self.metrics.readings.labels(reading.name, reading.status).inc()
        self._publish(snapshot)
        return snapshot

    def _publish(self, snapshot: dict[str, Any]) -> None:
        for queue in self._subscribers:
            if queue.full():  # a slow page gets the newest snapshot, not a backlog
                queue.get_nowait()
            queue.put_nowait(snapshot)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        """A queue that receives every new snapshot (only the newest when it falls behind)."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1)
        self._subscribers.add(queue)
        self.metrics.subscribers.inc()
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)
            self.metrics.subscribers.dec()

    async def run(self) -> None:
        """Sample every `interval` seconds until cancelled."""
        failures = 0
        while True:
            started = time.monotonic()
            try:
                await self.round()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if failures == 1 or failures % 100 == 0:  # one line, not one per round
                    log_event(log, "round failed", logging.ERROR, error=repr(exc), times=failures)
            await asyncio.sleep(max(0.0, started + self.interval - time.monotonic()))

    async def close(self) -> None:
        for collector in self.collectors:
            with contextlib.suppress(Exception):
                await collector.close()
