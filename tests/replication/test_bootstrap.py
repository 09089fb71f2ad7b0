"""Followers that start from a snapshot, and never serve across a purged part of the log."""

from __future__ import annotations

from pathlib import Path

from sutra.storage.replication.bootstrap import read_log_sequence
from sutra.storage.replication.nats import LogStream
from tests.replication.support import Shard
from tests.replication.test_config import _one_line, _run


def _write(shard: Shard, prefix: str, count: int) -> int:
    with shard.client("writer") as client:
        for i in range(count):
            client.learn_concept(f"{prefix} {i % 7}")  # re-learning: replayed twice would differ
        return client.last_token


def _snapshot(shard: Shard, root: Path) -> int:
    with shard.client("writer") as client:
        info = client.download_snapshot(root)
    return read_log_sequence(Path(info.path))


def test_a_new_follower_starts_from_the_newest_snapshot(shard: Shard) -> None:
    snapshots = shard.root / "snapshots"
    shard.start("writer", "writer")
    _write(shard, "old", 10)
    _snapshot(shard, snapshots)
    _write(shard, "middle", 10)
    taken = _snapshot(shard, snapshots)
    token = _write(shard, "new", 10)
    assert 0 < taken < token
    follower = shard.start_with_snapshots("f1", snapshots)
    assert (
        f'"sequence":{taken}' in follower.log() and "bootstrapped_from_snapshot" in follower.log()
    )
    digests = shard.digests(["writer", "f1"], token)
    assert digests["writer"]["sha256"] == digests["f1"]["sha256"]


def test_a_follower_behind_a_purged_log_restores_a_newer_snapshot(shard: Shard) -> None:
    snapshots = shard.root / "snapshots"
    shard.start("writer", "writer")
    shard.start_with_snapshots("f1", snapshots)
    _write(shard, "seen", 10)
    shard.kill("f1")
    _write(shard, "missed", 10)
    taken = _snapshot(shard, snapshots)
    token = _write(shard, "after", 10)
    stream = LogStream(shard.nats_url, shard.stream)
    stream.connect(create=False)
    stream.purge_before(taken + 1)  # the entries the follower missed are gone
    stream.close()
    follower = shard.start_with_snapshots("f1", snapshots)
    assert f'"sequence":{taken}' in follower.log()
    digests = shard.digests(["writer", "f1"], token)
    assert digests["writer"]["sha256"] == digests["f1"]["sha256"]
    # Without a snapshot that reaches the log, a behind follower refuses to start.
    shard.kill("f1")
    _write(shard, "later", 10)
    with LogStream(shard.nats_url, shard.stream) as log:
        log.connect(create=False)
        log.purge_before(log.bounds()[1])
    env = {**shard.env("follower"), "SUTRA_STORAGE_SNAPSHOT_DIR": str(snapshots)}
    line = _one_line(_run(env, shard.root / "f1"))
    assert "no snapshot" in line and "reaches it" in line
