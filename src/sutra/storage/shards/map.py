"""The shard map: which shard owns a concept, by rendezvous (highest-random-weight) hashing.

Each shard has a name (`shard-<index>`); a concept belongs to the shard whose
blake2b(shard name, id) is largest. Adding a shard moves only the concepts the new shard
now wins (about 1/N of them) and no concept between two old shards, so growing the map
copies the least data. The map is fully described by its shard count: the map version
`rendezvous-blake2b/<count>` is what every shard server and the router must agree on.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sutra.storage.ids import InvalidId, parse_id

__all__ = ["ShardMap", "map_version", "shards_for_tier"]

SCHEME = "rendezvous-blake2b"


def map_version(count: int) -> str:
    return f"{SCHEME}/{count}"


@functools.lru_cache(maxsize=1024)
def _keys(count: int) -> tuple[bytes, ...]:
    return tuple(f"shard-{index}".encode() for index in range(count))


def _weight(key: bytes, raw_id: bytes) -> bytes:
    return hashlib.blake2b(raw_id, key=key, digest_size=8).digest()


@dataclass(frozen=True)
class ShardMap:
    """N shards, numbered 0..N-1 (the order of SUTRA_STORAGE_SHARDS)."""

    count: int

    def __post_init__(self) -> None:
        if not 1 <= self.count <= 1024:
            raise ValueError(f"a shard map has 1..1024 shards, got {self.count}")

    @property
    def version(self) -> str:
        return map_version(self.count)

    def owner_raw(self, raw_id: bytes) -> int:
        """The shard of a 16-byte concept id."""
        if self.count == 1:
            return 0
        keys = _keys(self.count)
        weights = [_weight(key, raw_id) for key in keys]
        return max(range(self.count), key=weights.__getitem__)

    def owner(self, concept_id: str) -> int:
        """The shard of a concept id (32 hex characters); ValueError names a bad id."""
        try:
            return self.owner_raw(parse_id(concept_id, "concept_id"))
        except InvalidId as exc:
            raise ValueError(str(exc)) from None


def shards_for_tier(tier: str, root: Path | None = None) -> int:
    """The tier table's `storage.shards` of a tier (policies/data/tiers.yaml); 1 when absent."""
    from sutra.gitops import tiers

    table = tiers.load(root)
    entry = table["tiers"].get(tier)
    if entry is None:
        raise tiers.TierTableError(f"{tiers.TABLE}: no tier {tier!r}")
    count = ((entry.get("storage") or {}).get("shards")) or 1
    if not isinstance(count, int) or count < 1:
        raise tiers.TierTableError(f"{tiers.TABLE}: tiers.{tier}.storage.shards must be >= 1")
    return count
