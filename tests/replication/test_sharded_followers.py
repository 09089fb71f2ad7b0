"""Shards with their own log and read followers behind the shard router: each shard's reads
go to its followers (read-your-writes through each shard's token), so they go on when every
writer is gone."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from sutra.storage.client import AssociationInput, ConceptInput
from sutra.storage.errors import InvalidArgument
from sutra.storage.replication.cluster import NatsCluster
from sutra.storage.shards.reshard import Reshard, plan_for
from sutra.storage.shards.router import ShardedStorageClient
from sutra.storage.v1 import storage_pb2 as pb
from tests.replication.support import Shard, vector

SHARDS = 2
_streams = itertools.count(1)


@pytest.fixture
def shards(nats_cluster: NatsCluster, tmp_path: Path) -> Iterator[list[Shard]]:
    """Two shards of one map, each a stream of its own with a writer and a follower."""
    found = []
    for index in range(SHARDS):
        shard = Shard(nats_cluster.url, f"S{next(_streams)}X{index}", tmp_path / f"shard-{index}")
        shard.env_extra = {
            "SUTRA_STORAGE_SHARD": str(index),
            "SUTRA_STORAGE_SHARD_COUNT": str(SHARDS),
        }
        found.append(shard)
    try:
        for shard in found:
            shard.start("writer", "writer")
            shard.start("follower", "follower")
        yield found
    finally:
        for shard in found:
            shard.stop_all()


def test_each_shards_reads_go_to_its_followers(shards: list[Shard]) -> None:
    router = ShardedStorageClient(
        [s.address("writer") for s in shards],
        timeout=10.0,
        readers=[[s.address("follower")] for s in shards],
    )
    with router:
        items = [ConceptInput(f"tide pool {n}", embedding=vector(n)) for n in range(40)]
        ids = router.learn_batch(items).concept_ids
        assert all(token > 0 for token in router.tokens), router.tokens  # both shards written
        assert [router.get_concept(i).content for i in ids] == [c.content for c in items]
        for shard in shards:
            shard.kill("writer")
        # No writer left: every read is a follower's, each concept found on its own shard.
        assert [router.get_concept(i).content for i in ids] == [c.content for c in items]


def test_followers_for_another_number_of_shards_is_one_clear_error() -> None:
    with pytest.raises(InvalidArgument, match="followers are given for 1 shards"):
        ShardedStorageClient(["127.0.0.1:1", "127.0.0.1:2"], readers=[["127.0.0.1:3"]])


def test_a_reshard_reaches_each_shards_followers(
    shards: list[Shard], nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    """Copies, deletes and the map switch are log writes: after a move from 2 to 3 shards
    every follower equals its writer, serves the new map, and the followers alone answer for
    every concept."""
    added = Shard(nats_cluster.url, f"S{next(_streams)}X2", tmp_path / "shard-2")
    added.env_extra = {"SUTRA_STORAGE_SHARD": "2", "SUTRA_STORAGE_SHARD_COUNT": "3"}
    every = [*shards, added]
    try:
        added.start("writer", "writer")
        added.start("follower", "follower")
        writers = [s.address("writer") for s in shards]
        with ShardedStorageClient(writers, timeout=10.0) as router:
            items = [ConceptInput(f"estuary {n}", embedding=vector(n)) for n in range(120)]
            ids = router.learn_batch(items).concept_ids
            router.learn_batch((), [AssociationInput(a, b) for a, b in itertools.pairwise(ids)])
            plan = plan_for(writers, [added.address("writer")], 3, 10.0)
            progress = Reshard(plan, grace=0.0).run()
            assert progress.copied > 0 and progress.dropped == progress.copied
        for shard in every:
            with shard.client("writer") as writer:
                sequence = writer.replication_status()["sequence"]
            digests = shard.digests(["writer", "follower"], sequence)
            assert digests["writer"] == digests["follower"]
            with shard.client("follower") as follower:
                state = follower._call(
                    follower._stub.GetStats, pb.GetStatsRequest(), idempotent=True
                ).shard
            assert (state.count, state.epoch, state.phase) == (3, 1, "")
        followers = [[s.address("follower")] for s in every]
        targets = [s.address("writer") for s in every]
        with ShardedStorageClient(targets, timeout=10.0, readers=followers) as reading:
            reading.check_shards()
            for shard in every:
                shard.kill("writer")
            assert None not in reading.get_concepts(ids)
    finally:
        added.stop_all()
