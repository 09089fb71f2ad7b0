"""Shards with their own log and read followers behind the shard router: each shard's reads
go to its followers (read-your-writes through each shard's token), so they go on when every
writer is gone."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from sutra.storage.client import ConceptInput
from sutra.storage.errors import InvalidArgument
from sutra.storage.replication.cluster import NatsCluster
from sutra.storage.shards.router import ShardedStorageClient
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
