"""One storage server's part in a replicated shard: writer or follower, its state and checks.

The gRPC servicer asks the member three things: may this write be taken (`write_refusal`),
may this read be served (`check_read`: readiness and `min_sequence`), and what is the
state (`status`). Everything else (the log, the fence, applying entries) happens here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from sutra.common.logging import log_event
from sutra.storage.engine import Engine
from sutra.storage.errors import FailedPrecondition, StorageError, Unavailable
from sutra.storage.replication.bootstrap import bootstrap
from sutra.storage.replication.follower import LogFollower, LogGap, Progress, StoreAhead
from sutra.storage.replication.metrics import ReplicationMetrics
from sutra.storage.replication.nats import LogStream
from sutra.storage.replication.writer import LogWriter

log = logging.getLogger("sutra.storage.replication")

GAP_EXIT_CODE = 75  # EX_TEMPFAIL: restarted, the member bootstraps from a newer snapshot


class Member:
    def __init__(
        self,
        settings: Any,
        engine: Engine,
        registry: Any,
        address: str,
        set_health: Callable[[bool], None],
    ) -> None:
        self.role = settings.storage_role
        self.shard = settings.storage_shard
        self.address = settings.storage_advertise or address
        self.engine = engine
        self.max_lag = settings.storage_max_lag
        self.read_wait = settings.storage_read_wait_seconds
        self.set_health = set_health
        self.metrics = ReplicationMetrics(registry)
        self.progress = Progress(tail=engine.applied)
        self.stream = LogStream(
            settings.storage_nats_url,
            settings.storage_stream,
            settings.storage_shard,
            replicas=settings.storage_stream_replicas,
            connect_seconds=settings.storage_nats_connect_seconds,
            max_age=settings.storage_stream_max_age_seconds,
        )
        self.writer: LogWriter | None = None
        self.follower: LogFollower | None = None
        self.caught_up = False
        self._ready: bool | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Connect; a writer catches up and claims the shard here, a follower in its thread.

        LogConfigError (one clear line) when the log cannot be used as configured.
        """
        self.stream.connect(create=self.role == "writer")
        self.metrics.applied.set(self.engine.applied)
        if self.role == "writer":
            self.writer = LogWriter(
                self.engine, self.stream, self.address, self.progress, self.metrics, self._follow
            )
            self.writer.start()
            self.caught_up = True
        else:
            last = self.stream.bounds()[1]
            if self.engine.applied > last:
                raise StoreAhead(self.engine.applied, last)
            self._follow()

    def _follow(self) -> None:
        self.follower = LogFollower(
            self.engine, self.stream, self.progress, self.metrics, self._changed, self._gap
        )
        self.follower.start()

    def _changed(self) -> None:
        self.caught_up = True
        lag = self.lag_entries
        self.metrics.lag_entries.set(lag)
        self.metrics.lag_seconds.set(self.progress.lag_seconds)
        self._set_ready(self.ready)

    def _gap(self, gap: LogGap) -> None:
        """Never serve a gap: stop; the restart bootstraps from a snapshot past it."""
        self._set_ready(False)
        log_event(log, "exiting_for_bootstrap", logging.CRITICAL, error=str(gap))
        os._exit(GAP_EXIT_CODE)

    def _set_ready(self, ready: bool) -> None:
        with self._lock:
            if ready != self._ready:
                self._ready = ready
                self.set_health(ready)

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
        self.stream.close()

    # --------------------------------------------------------------- checks

    @property
    def lag_entries(self) -> int:
        return max(0, self.progress.tail - self.engine.applied)

    @property
    def ready(self) -> bool:
        if self.writer is not None and self.writer.state == "writing":
            return True
        return self.caught_up and self.lag_entries <= self.max_lag

    def write_refusal(self) -> StorageError | None:
        if self.writer is not None:
            return self.writer.refusal()
        writer = self.progress.writer_address or "unknown (no writer has claimed the shard yet)"
        return FailedPrecondition(
            f"this storage server is a read follower of shard {self.shard}; "
            f"send writes to the writer at {writer}"
        )

    def check_read(self, min_sequence: int, timeout: float) -> None:
        """Serve only when ready, and only once `min_sequence` is applied (bounded wait)."""
        if min_sequence:
            wait = min(self.read_wait, max(0.0, timeout))
            if not self.engine.wait_applied(min_sequence, wait):
                raise Unavailable(
                    f"this member has applied log sequence {self.engine.applied}, "
                    f"not yet {min_sequence} (waited {wait:g} s); read from another member"
                )
            return
        if not self.ready:
            raise Unavailable(
                f"this follower is not ready: {self.lag_entries} log entries behind "
                f"(bound {self.max_lag})"
            )

    def status(self) -> dict[str, Any]:
        return {
            "role": "writer"
            if self.writer is not None and self.writer.state != "fenced"
            else "follower",
            "state": self.writer.state if self.writer is not None else "following",
            "shard": self.shard,
            "address": self.address,
            "pid": os.getpid(),
            "sequence": self.engine.applied,
            "log_sequence": self.progress.tail,
            "lag": self.lag_entries,
            "lag_seconds": round(self.progress.lag_seconds, 3),
            "writer_address": self.progress.writer_address,
            "ready": self.ready,
            "time": time.time(),
        }


def setup(
    settings: Any,
    engine: Engine,
    registry: Any,
    address: str,
    set_health: Callable[[bool], None],
) -> Member | None:
    """The member for these settings; None when replication is off (no NATS URL)."""
    if not settings.storage_nats_url:
        return None
    return Member(settings, engine, registry, address, set_health)


__all__ = ["GAP_EXIT_CODE", "Member", "bootstrap", "setup"]
