"""Where a client's reads go when the shard has read followers (SUTRA_STORAGE_READERS).

Reads go round-robin to the followers, skipping one that just failed (down, or not ready:
it answers UNAVAILABLE while it lags) for a short while, and fall back to the writer when
none answers. Writes always go to the writer.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

READERS_ENV = "SUTRA_STORAGE_READERS"
DOWN_SECONDS = 2.0
# Later options win in gRPC's channel arguments; these come before the caller's own.
FAILOVER_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def readers_from_env() -> list[str]:
    """The follower addresses of SUTRA_STORAGE_READERS (host:port, comma-separated)."""
    return [part.strip() for part in os.environ.get(READERS_ENV, "").split(",") if part.strip()]


class ReadRouter:
    def __init__(self, targets: list[str], make_stub: Callable[[str], Any]) -> None:
        self.targets = targets
        self.stubs = {target: make_stub(target) for target in targets}
        self._next = 0
        self._down_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def order(self) -> list[tuple[str, Any]]:
        """The followers to try, in turn from the next one, without those marked down."""
        now = time.monotonic()
        with self._lock:
            start = self._next
            self._next = (self._next + 1) % len(self.targets)
        rotated = self.targets[start:] + self.targets[:start]
        return [(t, self.stubs[t]) for t in rotated if self._down_until.get(t, 0.0) <= now]

    def mark_down(self, target: str) -> None:
        with self._lock:
            self._down_until[target] = time.monotonic() + DOWN_SECONDS
