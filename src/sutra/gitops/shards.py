"""The storage shards of a tier (`storage.shards` of its row in policies/data/tiers.yaml).

A sharded tier runs, per shard, what an unsharded tier runs once: a writer, its Service, its
snapshot job and, where the tier replicates, its followers. Shard 0 keeps the unsharded names
(`storage-server`, `storage-replica`, `storage-snapshot`), so an unsharded store is shard 0 and
every rule that names those objects keeps holding; shard i >= 1 appends `-<i>`. The Rego rules
derive the same names (lib/k8s.rego: `shard_name`), the generators read them here.
"""

from __future__ import annotations

import re
from typing import Any

from sutra.gitops.tiers import TABLE, TierTableError

STREAM_PREFIX = "SUTRA_STORAGE_"
SNAPSHOT_CRONJOB = "storage-snapshot"
SNAPSHOT_CLAIM = "storage-snapshots"
SHARD_ENV = "SUTRA_STORAGE_SHARD"
COUNT_ENV = "SUTRA_STORAGE_SHARD_COUNT"
STREAM_ENV = "SUTRA_STORAGE_STREAM"
SHARDS_ENV = "SUTRA_STORAGE_SHARDS"
SHARD_READERS_ENV = "SUTRA_STORAGE_SHARD_READERS"


def count(table: dict[str, Any], tier: str) -> int:
    """The tier's shard count: `storage.shards` of its row, 1 (unsharded) when absent."""
    found = (table["tiers"][tier].get("storage") or {}).get("shards", 1)
    if not isinstance(found, int) or isinstance(found, bool) or found < 1:
        raise TierTableError(f"{TABLE}: tiers.{tier}.storage.shards must be a positive integer")
    return found


def name(base: str, index: int) -> str:
    """Shard INDEX's object of the unsharded object BASE: BASE itself for shard 0."""
    return base if index == 0 else f"{base}-{index}"


def stream(index: int) -> str:
    """The JetStream stream of a shard's log (the writer creates it, its followers read it)."""
    return f"{STREAM_PREFIX}{index}"


def sharded_workloads(table: dict[str, Any]) -> list[str]:
    """The workloads run once per shard: the writer, and the read followers where described."""
    names = [table["storage"]["workload"]]
    followers = (table["storage"].get("replication") or {}).get("followers")
    return names + ([followers] if followers else [])


def workloads(table: dict[str, Any], tier: str) -> dict[str, Any]:
    """The tier's workloads with each sharded one repeated per shard i >= 1 (same row), after
    the table's own: what the tier runs, and what its alerts and rules count."""
    rows = dict(table["tiers"][tier]["workloads"])
    extra = {
        name(base, index): rows[base]
        for index in range(1, count(table, tier))
        for base in sharded_workloads(table)
        if base in rows
    }
    return {**rows, **extra}


def readers(table: dict[str, Any]) -> list[str]:
    """The workloads that reach the store through the shard router."""
    replication = table["storage"].get("replication") or {}
    fallback = [c for c in table["storage"]["clients"] if c != SNAPSHOT_CRONJOB]
    return list(replication.get("readers") or fallback)


def unsharded(table: dict[str, Any], found: str) -> str:
    """Shard 0's name of a shard's object (storage-server-2 -> storage-server), else FOUND:
    every shard's pods run as shard 0's, with its service account and image."""
    for base in [*sharded_workloads(table), SNAPSHOT_CRONJOB, SNAPSHOT_CLAIM]:
        if re.fullmatch(rf"{re.escape(base)}-[0-9]+", found):
            return base
    return found
