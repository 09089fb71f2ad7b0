"""Consistent snapshots of a running store: streamed to a caller or written to a folder.

Part of `Engine` (a mixin). The time of the last completed snapshot is stored durably in the
store's meta before the snapshot is reported done, so it survives restarts and crashes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import lmdb

from sutra.common.logging import log_event
from sutra.storage import layout
from sutra.storage.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    StorageError,
)
from sutra.storage.model import SnapshotInfo
from sutra.storage.snapshots import SnapshotError, SnapshotWriter

log = logging.getLogger("sutra.storage.engine")

SNAPSHOT_CHUNK = 1 << 20
MAX_SNAPSHOT_CHUNK = 4 << 20


class EngineSnapshots:
    """The snapshot half of `Engine`; it uses the engine's store, writer queue and metrics."""

    def stream_snapshot(
        self, chunk_bytes: int = 0, *, record: bool = True
    ) -> Iterator[SnapshotInfo | bytes | tuple[int, str]]:
        """A consistent compacted copy: header info, data chunks, then (total, sha256).

        LMDB copies from one read transaction while writes go on; the header's counters
        come from that same transaction, so they describe exactly the streamed data.
        With `record`, the end of the stream is recorded as the last snapshot's time (the
        receiver's own checks come after; the server cannot see them).
        """
        import hashlib

        if chunk_bytes < 0 or chunk_bytes > MAX_SNAPSHOT_CHUNK:
            raise InvalidArgument(f"chunk_bytes must be within 0..{MAX_SNAPSHOT_CHUNK}")
        chunk_bytes = chunk_bytes or SNAPSHOT_CHUNK
        txn = self.env.begin()
        try:
            meta = layout.read_meta(txn, self.dbs.meta)
            read_fd, write_fd = os.pipe()
        except BaseException:
            txn.abort()
            raise
        failure: list[BaseException] = []

        def copy() -> None:
            try:
                self.env.copyfd(write_fd, compact=True, txn=txn)
            except BaseException as exc:
                failure.append(exc)
            finally:
                os.close(write_fd)

        copier = threading.Thread(target=copy, name="storage-snapshot", daemon=True)
        copier.start()
        pipe = os.fdopen(read_fd, "rb")
        try:
            yield SnapshotInfo(
                path="",
                size_bytes=0,
                sha256="",
                sequence=meta["sequence"],
                concepts=meta["concepts"],
                associations=meta["associations"],
                vectors=meta["vectors"],
                created_at=time.time(),
            )
            digest = hashlib.sha256()
            total = 0
            while chunk := pipe.read(chunk_bytes):
                digest.update(chunk)
                total += len(chunk)
                yield chunk
            copier.join()
            if failure:
                raise StorageError(f"snapshot copy failed: {failure[0]}")
            if record:
                self._record_snapshot(time.time())
            yield (total, digest.hexdigest())
        finally:
            pipe.close()  # an abandoned stream ends the copier with EPIPE
            copier.join()
            txn.abort()

    def snapshot_to(self, destination: Path) -> SnapshotInfo:
        """Write a snapshot into the new directory `destination` on this host, atomically."""
        if not destination.is_absolute():
            raise InvalidArgument(f"destination must be an absolute path, got {str(destination)!r}")
        try:
            writer = SnapshotWriter(destination)
        except SnapshotError as exc:
            cls = AlreadyExists if destination.exists() else FailedPrecondition
            raise cls(str(exc)) from None
        except OSError as exc:
            raise FailedPrecondition(f"cannot write {destination}: {exc.strerror}") from None
        with writer:
            parts = self.stream_snapshot(record=False)
            header = next(parts)
            assert isinstance(header, SnapshotInfo)
            trailer: tuple[int, str] | None = None
            for part in parts:
                if isinstance(part, bytes):
                    writer.write(part)
                else:
                    trailer = part  # type: ignore[assignment]
            assert trailer is not None
            info = writer.commit(
                sequence=header.sequence,
                concepts=header.concepts,
                associations=header.associations,
                vectors=header.vectors,
                created_at=header.created_at,
                expected_size=trailer[0],
                expected_sha256=trailer[1],
            )
        self._record_snapshot(time.time())  # only once it is fsynced under its final name
        return info

    def _record_snapshot(self, when: float) -> None:
        """Store `when` as the last snapshot's time, durably, and show it in stats and metrics.

        Its own write transaction (committed with fsync, as every commit of this store), not
        the writer's queue: a full queue must not fail a snapshot that is already written, and
        the key is not one of the counters the writer keeps. LMDB runs one write transaction
        at a time, so this waits at most for the writer's current commit.

        The snapshot's own copy was read before this, so it holds the time of the snapshot
        before it (0 for the first). A store restored from it therefore starts with that older
        time, and that is what it should report: the value is never later than the newest
        snapshot of the store's data, so after a restore the too-old alert may fire early (a
        restored store, whose new writes no snapshot holds yet, wants a fresh one anyway) but
        never stays silent on a store whose backups stopped.
        """
        with self._snapshot_lock:  # two snapshots ending together: the later time wins
            try:
                with self.env.begin(write=True) as txn:
                    stored = layout.write_last_snapshot(txn, self.dbs.meta, when)
            except lmdb.Error as exc:
                # The snapshot is complete; only its time is not kept past a restart.
                log_event(log, "snapshot_time_not_stored", logging.ERROR, error=str(exc))
                stored = max(self.last_snapshot_time, when)
            self.last_snapshot_time = stored
            self.metrics.last_snapshot.set(stored)
