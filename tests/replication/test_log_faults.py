"""Faults of the log itself: the JetStream stream leader killed (kill -9) under 16 concurrent
writers, and snapshots whose data does not match their recorded digest.

This module runs its own 3-node cluster: killing a nats-server must not disturb the stream of
any other module on the shared one.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sutra.common.testing import poll
from sutra.storage import remote
from sutra.storage.replication.cluster import NatsCluster, NatsNode, start_nats_cluster
from sutra.storage.replication.nats import LogStream
from tests.replication.support import Load, Shard, all_found
from tests.replication.test_bootstrap import _snapshot, _write
from tests.replication.test_config import _one_line, _run
from tests.replication.test_s3 import BUCKET, s3_env  # noqa: F401  (a fixture of this module too)
from tests.replication.test_s3 import _snapshot as _bucket_snapshot


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    cluster = start_nats_cluster(tmp_path_factory.mktemp("nats-faults"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def shard(own_cluster: NatsCluster, tmp_path: Path) -> Iterator[Shard]:
    members = Shard(own_cluster.url, f"F{time.monotonic_ns()}", tmp_path)
    try:
        yield members
    finally:
        members.stop_all()


def _stream_cluster(url: str, stream: str) -> object | None:
    """The stream's cluster info (leader, replicas) as JetStream reports it; None meanwhile."""
    log = LogStream(url, stream, connect_seconds=2.0)
    try:
        log.connect(create=False)
        return log._run(log._js.stream_info(stream), 3.0).cluster
    except Exception:
        return None  # no leader yet: the API does not answer during an election
    finally:
        log.close()


def _kill_stream_leader(cluster: NatsCluster, stream: str) -> NatsNode:
    def leader() -> object | None:
        info = _stream_cluster(cluster.url, stream)
        return info if info is not None and info.leader else None

    info = poll(leader, timeout=10, what="the stream's leader")
    node = next(n for n in cluster.nodes if n.name == info.leader)
    assert node.process is not None
    node.process.send_signal(signal.SIGKILL)
    node.process.wait(10)
    return node


def _new_leader(url: str, stream: str, killed: str) -> str | None:
    info = _stream_cluster(url, stream)
    return info.leader if info is not None and info.leader not in (None, killed) else None


def _rejoined(url: str, stream: str, name: str) -> bool:
    info = _stream_cluster(url, stream)
    peers = [] if info is None else [info.leader] + [r.name for r in info.replicas if r.current]
    return name in peers


def test_stream_leader_killed_mid_load_loses_no_acknowledged_write(
    own_cluster: NatsCluster, shard: Shard
) -> None:
    shard.start("writer", "writer")
    shard.start("f1", "follower")
    shard.start("f2", "follower")
    readers = [shard.address("f1"), shard.address("f2")]
    with shard.client("writer") as client:
        seed = (client.learn_concept("the seed fact").concept_id, client.last_token)
    # 15 s per attempt: longer than an append waits for the log (10 s), so a write held up
    # by the election ends with a retriable UNAVAILABLE, not DEADLINE_EXCEEDED.
    with Load(shard, readers, seed, timeout=15.0) as load:
        poll(lambda: len(load.acked) >= 200, timeout=30, what="writes before the kill")
        killed = _kill_stream_leader(own_cluster, shard.stream)
        killed_at, reads_at = len(load.acked), len(load.reads)
        leader = poll(
            lambda: _new_leader(own_cluster.url, shard.stream, killed.name),
            timeout=30,
            what="a new stream leader",
        )
        poll(lambda: len(load.acked) >= killed_at + 200, timeout=30, what="writes resuming")
        assert len(load.reads) > reads_at  # the followers served reads through the election
        killed.start()
        poll(
            lambda: _rejoined(own_cluster.url, shard.stream, killed.name),
            timeout=30,
            what=f"{killed.name} rejoining the stream",
        )
    assert leader != killed.name
    assert load.write_errors == []  # every write was retried through the election
    # Followers serve reads from their own store: losing the log's leader stops their
    # progress, not their reads (the seed is applied, so no read waits on the log).
    assert load.read_failures == [] and len(load.reads) > reads_at
    with shard.client("writer") as client:
        token = client.flush() and client.replication_status()["sequence"]
    digests = shard.digests(["writer", "f1", "f2"], token)
    assert len({d["sha256"] for d in digests.values()}) == 1, digests
    for name in ("writer", "f1", "f2"):
        assert all_found(shard, name, load.acked), name


def _corrupt(data: Path) -> None:
    """Flip one byte in the middle of `data`: same size, different sha256."""
    with open(data, "r+b") as fh:
        fh.seek(data.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([byte[0] ^ 0xFF]))


def test_a_snapshot_not_matching_its_digest_is_skipped_or_refused(shard: Shard) -> None:
    snapshots = shard.root / "snapshots"
    shard.start("writer", "writer")
    _write(shard, "old", 10)
    older = _snapshot(shard, snapshots)
    _write(shard, "middle", 10)
    newer = _snapshot(shard, snapshots)
    token = _write(shard, "new", 10)
    bad = sorted(p for p in snapshots.iterdir() if not p.name.startswith("."))[-1]
    _corrupt(bad / "data.mdb")
    follower = shard.start_with_snapshots("f1", snapshots)  # the older, valid one
    assert "snapshot_skipped" in follower.log() and str(bad) in follower.log()
    assert f'"sequence":{older}' in follower.log()
    digests = shard.digests(["writer", "f1"], token)
    assert digests["writer"]["sha256"] == digests["f1"]["sha256"]
    # With the log purged past the valid snapshot, only the corrupt one could serve: refused.
    with LogStream(shard.nats_url, shard.stream) as log:
        log.connect(create=False)
        log.purge_before(newer + 1)
    env = {**shard.env("follower"), "SUTRA_STORAGE_SNAPSHOT_DIR": str(snapshots)}
    line = _one_line(_run(env, shard.root / "f2"))
    assert str(bad) in line and "checksum" in line, line


def _corrupt_in_bucket(url: str, name: str, scratch: Path) -> None:
    """Replace the bucket's data.mdb of snapshot `name` by a copy with one byte flipped."""
    where, s3 = remote.parse(url), remote.client()
    key = where.key(name, "data.mdb")
    s3.download_file(where.bucket, key, str(scratch))
    _corrupt(scratch)
    s3.upload_file(str(scratch), where.bucket, key)


def test_a_bucket_snapshot_not_matching_its_digest_is_refused(
    shard: Shard,
    s3_env: dict[str, str],  # noqa: F811
) -> None:
    url = f"s3://{BUCKET}/{shard.stream}"
    shard.start("writer", "writer")
    _write(shard, "bucket", 10)
    taken = _bucket_snapshot(shard, s3_env, url)
    assert taken.returncode == 0, taken.stderr
    _write(shard, "after", 10)
    name, sequence = remote.listing(url)[-1]
    _corrupt_in_bucket(url, name, shard.root / "download.mdb")
    with LogStream(shard.nats_url, shard.stream) as log:
        log.connect(create=False)
        log.purge_before(sequence + 1)  # a new follower needs a snapshot: only this one
    env = {**shard.env("follower"), **s3_env, "SUTRA_STORAGE_SNAPSHOT_DIR": url}
    line = _one_line(_run(env, shard.root / "f1"))
    assert f"{url}/{name}" in line and "checksum" in line, line
