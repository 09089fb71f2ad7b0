"""Applying the log to a store: catch-up (writer start, resync) and the follower loop.

Each batch of entries goes through `Engine.submit_replay`: one LMDB transaction that also
stores the last applied sequence, so an entry is applied exactly once across crashes (a
restarted member reads from the stored sequence on).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sutra.common.logging import log_event
from sutra.storage.engine import Engine
from sutra.storage.replication import log as entries
from sutra.storage.replication.metrics import ReplicationMetrics
from sutra.storage.replication.nats import LogMessage, LogReader, LogStream, LogUnavailable

log = logging.getLogger("sutra.storage.replication")

BATCH_ENTRIES = 256
POLL_SECONDS = 0.5
STALL_SECONDS = 5.0


class LogGap(Exception):
    """The stream no longer holds the entries after this store's sequence (purged)."""

    def __init__(self, applied: int, first: int) -> None:
        super().__init__(
            f"the log starts at sequence {first} but this store has applied {applied}: "
            "entries in between were purged; restore a newer snapshot"
        )
        self.applied = applied
        self.first = first


class StoreAhead(Exception):
    """The store has applied more than the stream holds: it is not this stream's store."""

    def __init__(self, applied: int, last: int) -> None:
        super().__init__(
            f"the store has applied log sequence {applied} but the stream ends at {last}: "
            "wrong stream, or the stream was deleted and created again"
        )


@dataclass
class Progress:
    """What a member knows of its place in the log (read by status, readiness, metrics)."""

    tail: int = 0  # the stream's last sequence, as last seen
    lag_seconds: float = 0.0
    writer_address: str = ""
    writers: set[bytes] | None = None  # writer ids of the entries applied (catch-up only)


def apply_messages(
    engine: Engine,
    messages: list[LogMessage],
    progress: Progress,
    metrics: ReplicationMetrics,
) -> None:
    """Decode and apply contiguous messages after the store's sequence; LogGap if not."""
    expected = engine.applied + 1
    messages = [m for m in messages if m.sequence >= expected]
    if not messages:
        return
    if messages[0].sequence != expected:
        raise LogGap(engine.applied, messages[0].sequence)
    batch = []
    for message in messages:
        entry = entries.decode(message.data)
        if progress.writers is not None:
            progress.writers.add(entry.writer)
        if entry.kind == entries.KIND_CLAIM:
            progress.writer_address = entry.address
        batch.append((message.sequence, entry.time, entry.writes))
    engine.submit_replay(batch).result()
    last = messages[-1]
    progress.tail = max(progress.tail, last.sequence + last.pending)
    progress.lag_seconds = max(0.0, time.time() - last.timestamp) if last.pending else 0.0
    metrics.entries.inc(len(messages))
    metrics.applied.set(engine.applied)


def catch_up(
    engine: Engine, stream: LogStream, progress: Progress, metrics: ReplicationMetrics
) -> None:
    """Apply the log from the store's sequence to the stream's tail as it is now."""
    first, last = stream.bounds()
    progress.tail = max(progress.tail, last)
    if engine.applied > last:
        raise StoreAhead(engine.applied, last)
    if engine.applied >= last:
        return
    if first > engine.applied + 1:
        raise LogGap(engine.applied, first)
    reader = stream.reader(engine.applied + 1)
    try:
        while engine.applied < last:
            messages = reader.next(BATCH_ENTRIES, POLL_SECONDS * 4)
            if not messages:
                raise LogUnavailable(f"the log stopped delivering at sequence {engine.applied}")
            apply_messages(engine, messages, progress, metrics)
    finally:
        reader.close()


class LogFollower:
    """A thread that applies the log as it grows, until stopped."""

    def __init__(
        self,
        engine: Engine,
        stream: LogStream,
        progress: Progress,
        metrics: ReplicationMetrics,
        on_change: Callable[[], None],
        on_gap: Callable[[LogGap], None],
    ) -> None:
        self.engine = engine
        self.stream = stream
        self.progress = progress
        self.metrics = metrics
        self.on_change = on_change
        self.on_gap = on_gap
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._follow()
            except LogGap as gap:
                log_event(log, "log_gap", logging.ERROR, error=str(gap))
                self.on_gap(gap)
            except Exception as exc:  # the log is away: retry, keep serving reads meanwhile
                log_event(log, "follow_failed", logging.WARNING, error=repr(exc))
                self._stop.wait(POLL_SECONDS)

    def _follow(self) -> None:
        catch_up(self.engine, self.stream, self.progress, self.metrics)
        self.on_change()
        reader: LogReader = self.stream.reader(self.engine.applied + 1)
        polled = time.monotonic()
        try:
            while not self._stop.is_set():
                messages = reader.next(BATCH_ENTRIES, POLL_SECONDS)
                if messages:
                    apply_messages(self.engine, messages, self.progress, self.metrics)
                elif time.monotonic() - polled > POLL_SECONDS:
                    # Quiet log: check the tail, so that a stuck consumer shows as lag.
                    self.progress.tail = self.stream.bounds()[1]
                    polled = time.monotonic()
                    if self.progress.tail > self.engine.applied:
                        self.progress.lag_seconds += POLL_SECONDS
                        if self.progress.lag_seconds > STALL_SECONDS:  # a new consumer
                            raise LogUnavailable("the log consumer stalled behind the tail")
                    else:
                        self.progress.lag_seconds = 0.0
                self.on_change()
        finally:
            reader.close()
