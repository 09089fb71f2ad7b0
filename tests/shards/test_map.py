"""Rendezvous hashing: stable, balanced, and growing the map moves only the new shard's share."""

from __future__ import annotations

import os

import pytest

from sutra.gitops import tiers
from sutra.storage.shards.map import ShardMap, shards_for_tier


def test_growing_4_to_5_moves_about_a_fifth_and_only_to_the_new_shard() -> None:
    ids = [os.urandom(16) for _ in range(20_000)]
    four, five = ShardMap(4), ShardMap(5)
    moved = [(four.owner_raw(i), five.owner_raw(i)) for i in ids]
    changed = [(a, b) for a, b in moved if a != b]
    assert 0.17 < len(changed) / len(ids) < 0.23  # 1/5 expected
    assert all(b == 4 for _, b in changed)
    shares = [sum(1 for a, _ in moved if a == s) / len(ids) for s in range(4)]
    assert all(0.23 < share < 0.27 for share in shares)


def test_the_owner_is_a_pure_function_of_the_id() -> None:
    assert ShardMap(4).owner("00" * 16) == ShardMap(4).owner("00" * 16)
    assert ShardMap(1).owner("ab" * 16) == 0
    with pytest.raises(ValueError, match="32 hex characters"):
        ShardMap(4).owner("nope")
    with pytest.raises(ValueError, match=r"1\.\.1024"):
        ShardMap(0)


def test_the_tier_table_gives_the_shard_count() -> None:
    assert shards_for_tier("high") == 4
    assert shards_for_tier("low") == shards_for_tier("medium") == 1
    with pytest.raises(tiers.TierTableError, match="no tier"):
        shards_for_tier("huge")
