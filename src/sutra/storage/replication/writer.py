"""The writer side: append each group commit to the log, fenced, before it is applied.

The fence is JetStream's `Nats-Expected-Last-Sequence`: an append names the sequence this
store has applied, and the stream refuses it if anything else was appended since. A writer
that was refused cannot tell from the refusal alone whether another writer took over or
its own earlier append landed without an acknowledgement (a timeout), so it reads the log:
entries of its own it applies and goes on writing; an entry of another writer means it was
replaced, and it steps down: it refuses writes and follows the log like any follower.

A writer takes the shard with a claim entry (its address) once it has caught up, so a
restarted writer replaces a stale one on its first append rather than on the stale one's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from sutra.common.logging import log_event
from sutra.storage.engine import Engine, Replicator
from sutra.storage.errors import (
    FailedPrecondition,
    ResourceExhausted,
    StorageError,
    Unavailable,
)
from sutra.storage.replication import log as entries
from sutra.storage.replication.follower import Progress, catch_up
from sutra.storage.replication.metrics import ReplicationMetrics
from sutra.storage.replication.nats import Fenced, LogConfigError, LogStream, LogUnavailable

log = logging.getLogger("sutra.storage.replication")

CLAIM_ATTEMPTS = 5
RESYNC_PAUSE = 0.2
STARTUP_SECONDS = 20.0


class LogWriter(Replicator):
    """The engine's replicator on the shard's writer."""

    def __init__(
        self,
        engine: Engine,
        stream: LogStream,
        address: str,
        progress: Progress,
        metrics: ReplicationMetrics,
        on_step_down: Callable[[], None],
    ) -> None:
        self.engine = engine
        self.stream = stream
        self.address = address
        self.progress = progress
        self.metrics = metrics
        self.on_step_down = on_step_down
        self.writer_id = entries.new_writer_id()
        self.state = "starting"  # starting -> writing <-> resyncing; -> fenced (final)
        self.max_entry_bytes = min(8 * 1024 * 1024, stream.max_payload)
        self._resync_lock = threading.Lock()

    # ---------------------------------------------------------------- start

    def start(self) -> None:
        """Catch up to the tail and claim the shard; then the engine may take writes."""
        deadline = time.monotonic() + STARTUP_SECONDS
        attempts = 0
        while attempts < CLAIM_ATTEMPTS:
            try:
                catch_up(self.engine, self.stream, self.progress, self.metrics)
                claim = entries.encode_claim(self.address, time.time(), self.writer_id)
                sequence = self.stream.append(claim, self.engine.applied)
            except Fenced:
                self.metrics.fence_rejections.inc()
                attempts += 1
                continue
            except LogUnavailable as exc:  # a stream just created elects its leader first
                if time.monotonic() > deadline:
                    raise LogConfigError(f"{exc} (for {STARTUP_SECONDS:g} s)") from None
                time.sleep(RESYNC_PAUSE)
                continue
            self.engine.submit_replay([(sequence, time.time(), [])]).result()
            self.progress.writer_address = self.address
            self.progress.tail = max(self.progress.tail, sequence)
            self.metrics.applied.set(sequence)
            self.engine.replicator = self
            self.state = "writing"
            self.metrics.role.set(1)
            log_event(log, "writer_claimed", sequence=sequence, address=self.address)
            return
        raise LogConfigError(
            f"could not claim stream {self.stream.stream}: it kept moving while catching up "
            f"({CLAIM_ATTEMPTS} attempts); is another writer running?"
        )

    # --------------------------------------------------------------- writes

    def refusal(self) -> StorageError | None:
        """Why a write cannot be taken now, or None."""
        if self.state == "writing":
            return None
        if self.state == "fenced":
            return FailedPrecondition(
                "this storage server is no longer the writer of shard "
                f"{self.stream.shard}: another writer "
                f"({self.progress.writer_address or 'unknown address'}) appended to the log; "
                "send writes there"
            )
        return Unavailable(f"the writer is {self.state}; retry shortly")

    def publish(self, writes: Sequence[object], when: float, applied: int) -> int:
        """Append the writes as entries after `applied`, in order; the last sequence."""
        refusal = self.refusal()
        if refusal is not None:
            raise refusal
        chunks = self._chunks(writes, when)
        limit = self.stream.max_payload
        for chunk in chunks:
            if len(chunk) > limit:
                raise ResourceExhausted(
                    f"a write of {len(chunk)} bytes is larger than the log takes "
                    f"({limit} bytes, the NATS max_payload); nothing was written"
                )
        for chunk in chunks:
            try:
                applied = self.stream.append(chunk, applied)
            except Fenced as exc:
                self.metrics.fence_rejections.inc()
                self._lost_sync(f"fenced: {exc.message}")
                raise Unavailable(
                    "the log moved under this writer (another writer, or an append whose "
                    "acknowledgement was lost); nothing was written; retry"
                ) from None
            except LogUnavailable as exc:
                self._lost_sync(str(exc))
                raise Unavailable(f"{exc}; the write may be in the log: retry it") from None
        self.progress.tail = max(self.progress.tail, applied)
        self.metrics.entries.inc()
        self.metrics.applied.set(applied)
        return applied

    def _chunks(self, writes: Sequence[object], when: float) -> list[bytes]:
        """The group as entries under the size limit, split only between writes."""
        items = [
            entries.LogWrite(w.concepts, w.associations, w.batch, w.op, w.copies, w.drops, w.state)  # type: ignore[attr-defined]
            for w in writes
        ]
        groups: list[list[entries.LogWrite]] = [[]]
        size = 0
        for item in items:
            item_size = entries.estimated_size(item)
            if groups[-1] and size + item_size > self.max_entry_bytes:
                groups.append([])
                size = 0
            groups[-1].append(item)
            size += item_size
        return [entries.encode_writes(group, when, self.writer_id) for group in groups]

    # --------------------------------------------------------------- resync

    def _lost_sync(self, why: str) -> None:
        """Stop writing and read the log in the background (never on the writer thread)."""
        if self.state != "writing":
            return
        self.state = "resyncing"
        log_event(log, "writer_resync", logging.WARNING, reason=why)
        threading.Thread(target=self._resync, name="log-resync", daemon=True).start()

    def _resync(self) -> None:
        with self._resync_lock:
            while True:
                self.progress.writers = set()
                try:
                    catch_up(self.engine, self.stream, self.progress, self.metrics)
                except Exception as exc:
                    log_event(log, "writer_resync_failed", logging.WARNING, error=repr(exc))
                    time.sleep(RESYNC_PAUSE)
                    continue
                others = (self.progress.writers or set()) - {self.writer_id}
                self.progress.writers = None
                if others:
                    self._step_down()
                    return
                self.state = "writing"
                log_event(log, "writer_resynced", sequence=self.engine.applied)
                return

    def _step_down(self) -> None:
        self.state = "fenced"  # the engine keeps this replicator: `publish` refuses
        self.metrics.role.set(0)
        log_event(
            log,
            "writer_fenced",
            logging.ERROR,
            sequence=self.engine.applied,
            writer=self.progress.writer_address,
        )
        self.on_step_down()
