"""Bootstrapping a follower's store from a snapshot, then replaying the log from there.

A snapshot is a copy of the whole store, its meta included, so it carries the log sequence
it was taken at (`snapshot_log_sequence`). Before a follower opens its store:

- a new (or wiped) store restores the newest snapshot, so it replays only what came after;
- a store whose next entry the stream no longer holds (purged while it was away, or a
  follower that stopped on a gap) restores the newest snapshot that reaches the stream's
  first entry, never one older than itself;
- when no snapshot reaches the stream, the follower refuses to start: it never serves a gap.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from sutra.common.logging import log_event
from sutra.storage import remote, snapshots
from sutra.storage.errors import FailedPrecondition
from sutra.storage.replication.nats import LogStream

log = logging.getLogger("sutra.storage.replication")


def read_log_sequence(directory: Path) -> int:
    """The log sequence applied to the store in `directory` (0: none, or no store)."""
    import lmdb

    from sutra.storage.engine import APPLIED_KEY
    from sutra.storage.layout import MAX_DBS, open_databases, unpack_u64

    if not (directory / snapshots.DATA_FILE).is_file():
        return 0
    env = lmdb.open(str(directory), readonly=True, lock=False, max_dbs=MAX_DBS)
    try:
        dbs = open_databases(env, create=False)
        with env.begin() as txn:
            return unpack_u64(txn.get(APPLIED_KEY, db=dbs.meta))
    finally:
        env.close()


def _candidates(root: str | Path) -> list[tuple[str, int]]:
    """(name or path, log sequence) of every snapshot at `root`, newest first."""
    if remote.is_remote(root):
        return list(reversed(remote.listing(str(root))))
    local = snapshots.list_snapshots(Path(root))
    return [(str(p), read_log_sequence(p)) for p in reversed(local)]


def _install(root: str | Path, name: str, data_dir: Path) -> None:
    """Restore snapshot `name` of `root` into `data_dir` (downloaded beside it if remote)."""
    if not remote.is_remote(root):
        snapshots.restore(Path(name), data_dir, force=True)
        return
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".bootstrap-", dir=data_dir.parent) as directory:
        local = remote.download(str(root), name, Path(directory))
        snapshots.restore(local, data_dir, force=True)


def _where(root: str | Path, snapshot: str) -> str:
    """Where snapshot `snapshot` of `root` is, as its owner would name it."""
    return remote.parse(str(root)).url(snapshot) if remote.is_remote(root) else snapshot


def bootstrap(settings: Any) -> int | None:
    """Restore a snapshot into the follower's store when it needs one; its log sequence."""
    root = settings.storage_snapshot_dir
    if not settings.storage_nats_url or settings.storage_role != "follower" or not root:
        return None
    data_dir = Path(settings.storage_path)
    applied = read_log_sequence(data_dir)
    stream = LogStream(
        settings.storage_nats_url,
        settings.storage_stream,
        settings.storage_shard,
        connect_seconds=settings.storage_nats_connect_seconds,
    )
    try:
        stream.connect(create=False)
        first, _ = stream.bounds()
    finally:
        stream.close()
    if applied and applied + 1 >= first:
        return None  # the log holds everything after this store: replay it
    corrupt: list[str] = []
    for snapshot, sequence in _candidates(root):
        if sequence <= applied or sequence + 1 < first:
            continue  # not newer than the store, or the log no longer reaches it
        try:
            _install(root, snapshot, data_dir)
        except (snapshots.SnapshotCorrupt, remote.RemoteError) as exc:
            log_event(log, "snapshot_skipped", logging.WARNING, path=snapshot, error=str(exc))
            corrupt.append(f"{_where(root, snapshot)} ({exc})")
            continue
        log_event(log, "bootstrapped_from_snapshot", path=snapshot, sequence=sequence)
        return sequence
    if applied + 1 >= first:
        return None  # a new store and nothing purged yet: replay the whole log
    raise FailedPrecondition(
        f"the log of stream {settings.storage_stream} starts at sequence {first} but this "
        f"store has applied {applied}, and no snapshot in {root} reaches it"
        + "".join(f"; skipped {bad}" for bad in corrupt)
        + "; take a newer snapshot"
    )
