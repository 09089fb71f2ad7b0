"""Shard servers and a generated graph for tests and benchmarks (no pytest needed).

with run_shards(tmp / "shards", 4) as servers, ShardedStorageClient(
    [s.address for s in servers]
) as router:
    load(router, generate(20_000, 60_000))
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sutra.storage.client import AssociationInput, AssociationType, ConceptInput
from sutra.storage.testing import ServerProcess, run_server

__all__ = ["Dataset", "generate", "load", "run_shards", "shard_env", "stored_ids"]

EXACT = {"SUTRA_VECTOR_HNSW_THRESHOLD": str(10**9)}  # exact search: results comparable


def shard_env(index: int, count: int, **extra: str) -> dict[str, str]:
    return {"SUTRA_STORAGE_SHARD": str(index), "SUTRA_STORAGE_SHARD_COUNT": str(count), **extra}


@contextlib.contextmanager
def run_shards(
    root: Path, count: int, env: Mapping[str, str] | None = None
) -> Iterator[list[ServerProcess]]:
    """`count` shard servers (data in root/shard-<i>) until the block ends."""
    contexts = [
        run_server(root / f"shard-{i}", env=shard_env(i, count, **(env or {})))
        for i in range(count)
    ]
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(count) as pool:
        started = [pool.submit(context.__enter__) for context in contexts]
        for context, future in zip(contexts, started, strict=True):
            with contextlib.suppress(BaseException):  # a failed start is raised below
                future.result()
                stack.push(context.__exit__)
        yield [future.result() for future in started]


@dataclass(frozen=True)
class Dataset:
    ids: list[str]
    vectors: np.ndarray  # unit float32 rows, one per id
    edges: list[tuple[int, int, int]]  # (source index, target index, type)

    def concepts(self, start: int = 0, stop: int | None = None) -> list[ConceptInput]:
        return [
            ConceptInput(f"concept {i}", concept_id=self.ids[i], embedding=self.vectors[i])
            for i in range(start, len(self.ids) if stop is None else min(stop, len(self.ids)))
        ]

    def associations(self, start: int = 0, stop: int | None = None) -> list[AssociationInput]:
        return [
            AssociationInput(
                self.ids[s], self.ids[t], AssociationType(kind), confidence=0.5, weight=1.0
            )
            for s, t, kind in self.edges[start:stop]
        ]


def generate(concepts: int, associations: int, *, dimension: int = 32, seed: int = 7) -> Dataset:
    """Random ids, unit vectors and distinct typed edges; a tenth of the concepts get none,
    so that some path searches find nothing."""
    rng = np.random.default_rng(seed)
    ids = [bytes(row).hex() for row in rng.integers(0, 256, (concepts, 16), dtype=np.uint8)]
    vectors = rng.standard_normal((concepts, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    linked = max(2, concepts * 9 // 10)
    seen: set[tuple[int, int, int]] = set()
    while len(seen) < associations:
        pairs = rng.integers(0, linked, (associations, 2))
        kinds = rng.integers(0, 5, associations)
        for (s, t), kind in zip(pairs.tolist(), kinds.tolist(), strict=True):
            if s != t and len(seen) < associations:
                seen.add((s, t, kind))
    return Dataset(ids, vectors, sorted(seen, key=lambda e: (e[0] * 7919 + e[1]) % 104729))


def load(client: Any, data: Dataset, batch: int = 5_000) -> None:
    """Every concept, then every association, in LearnBatch calls of `batch` writes."""
    for start in range(0, len(data.ids), batch):
        client.learn_batch(data.concepts(start, start + batch))
    for start in range(0, len(data.edges), batch):
        client.learn_batch((), data.associations(start, start + batch))


def stored_ids(data_dir: Path) -> set[str]:
    """The concept ids a (running or stopped) server's store holds, read from its LMDB file:
    what a shard holds whatever it owns (a shard refuses to read concepts it does not own)."""
    import lmdb

    from sutra.storage import layout

    env = lmdb.open(str(data_dir), readonly=True, lock=False, max_dbs=layout.MAX_DBS)
    try:
        dbs = layout.open_databases(env, create=False)
        with env.begin() as txn:
            return {bytes(key).hex() for key, _ in txn.cursor(db=dbs.concepts)}
    finally:
        env.close()


def sample_pairs(data: Dataset, count: int, seed: int = 11) -> Sequence[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data.ids), (count, 2)).tolist()
    return [(data.ids[a], data.ids[b]) for a, b in picks]
