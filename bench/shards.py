"""Storage shards behind the router (`ShardedStorageClient`) against one node, same run.

Every server (the single node and each shard) is its own process on this machine's two
CPUs, beside the load generator, so the write curve shows the router's overhead and how
little room two cores leave for N writers, not what N machines would give.

- Write throughput: LearnBatch of 500 concepts (content + 64-d vector), 4 in flight, into
  1 node (plain `StorageClient`, the baseline), 2 shards and 4 shards; each shard's CPU
  seconds from /proc for the same load.
- Cross-shard FindPath p50/p95 on a 20,000-concept / 60,000-association graph (4 shards)
  against the single node's FindPath, same pairs.
- Scatter-gather VectorSearch (every shard's top 10, merged) queries/s and recall@10
  against the exact top 10, beside the single node (both on their HNSW path).
- Resharding 4 -> 6 (`sutra storage reshard`'s mover, in-process) of the same graph:
  concepts copied per second of copying, idle and under a LearnBatch load, beside the rate
  at which the same graph was loaded through the router (LearnBatch of 5,000).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from common import Row, percentile, process_cpu_seconds, table, wait_idle
from storage_writes import in_flight

from sutra.storage.client import ConceptInput, StorageClient
from sutra.storage.shards.reshard import Reshard, plan_for
from sutra.storage.shards.router import ShardedStorageClient
from sutra.storage.shards.testing import generate, load, run_shards, sample_pairs, shard_env
from sutra.storage.testing import run_server

ENV = {"SUTRA_VECTOR_DIMENSION": "64", "SUTRA_METRICS_PORT": "0"}
SEARCH_ENV = {**ENV, "SUTRA_VECTOR_HNSW_THRESHOLD": "1000"}  # HNSW on every server


@contextlib.contextmanager
def cluster(root: Path, shards: int, env: dict[str, str]) -> Iterator[tuple[object, list]]:
    """(client, server processes): a plain client for 1, the router for more."""
    if shards == 1:
        with (
            run_server(root / "single", env=env) as server,
            StorageClient(server.address, timeout=60) as client,
        ):
            yield client, [server]
        return
    with (
        run_shards(root / f"shards-{shards}", shards, env) as servers,
        ShardedStorageClient([s.address for s in servers], timeout=60) as router,
    ):
        yield router, servers


def _batches(tag: str, batches: int) -> list[list[ConceptInput]]:
    rng = np.random.default_rng(zlib.crc32(tag.encode()))
    vectors = rng.standard_normal((batches * 500, 64)).astype("f4")
    return [
        [ConceptInput(f"{tag} {b} {i}", embedding=vectors[b * 500 + i]) for i in range(500)]
        for b in range(batches)
    ]


def _write_rows(root: Path, batches: int, rounds: int) -> list[Row]:
    """1 node, 2 and 4 shards measured in alternating rounds (best rate, CPU summed)."""
    sizes = (1, 2, 4)
    rates: dict[int, float] = dict.fromkeys(sizes, 0.0)
    cpu: dict[int, list[float]] = {n: [0.0] * n for n in sizes}
    with contextlib.ExitStack() as stack:
        setups = {n: stack.enter_context(cluster(root / f"w{n}", n, ENV)) for n in sizes}
        for round_ in range(rounds):
            for n, (client, servers) in setups.items():
                work = _batches(f"w{n} r{round_}", batches)
                before = [process_cpu_seconds(s.pid) for s in servers]
                rate = in_flight(work, 4, lambda b, c=client: c.learn_batch(b)) * 500  # type: ignore[attr-defined]
                rates[n] = max(rates[n], rate)
                for i, server in enumerate(servers):
                    cpu[n][i] += process_cpu_seconds(server.pid) - before[i]
    rows = [
        Row(
            "LearnBatch 500, 4 in flight: 1 node",
            rates[1],
            "concepts/s",
            note=f"server CPU {cpu[1][0]:.1f} s",
        )
    ]
    for n in sizes[1:]:
        each = " ".join(f"{c:.1f}" for c in cpu[n])
        rows.append(
            Row(
                f"LearnBatch 500, 4 in flight: {n} shards",
                rates[n],
                "concepts/s",
                rates[1],
                "1 node",
                note=f"CPU s per shard: {each}",
            )
        )
    return rows


def _latencies(fn, pairs) -> list[float]:
    times = []
    for start, end in pairs:
        began = time.perf_counter()
        fn(start, end)
        times.append((time.perf_counter() - began) * 1000)
    return sorted(times)


def _graph_rows(root: Path, quick: bool) -> list[Row]:
    data = generate(20_000, 60_000, dimension=64)
    pairs = sample_pairs(data, 100 if quick else 300)
    queries = np.random.default_rng(3).standard_normal((200 if quick else 1000, 64)).astype("f4")
    exact = _exact_top10(data.ids, data.vectors, queries)
    with (
        cluster(root / "g1", 1, SEARCH_ENV) as (one, single_servers),
        cluster(root / "g4", 4, SEARCH_ENV) as (many, shard_servers),
    ):
        load(one, data)
        load(many, data)
        for server in [*single_servers, *shard_servers]:  # background HNSW builds done
            wait_idle(server.pid, settle=2)
        single = _latencies(one.find_path, pairs)  # type: ignore[attr-defined]
        sharded = _latencies(many.find_path, pairs)  # type: ignore[attr-defined]
        rows = [
            Row(
                f"FindPath p{q}: 4 shards",
                percentile(sharded, q),
                "ms",
                percentile(single, q),
                "1 node FindPath",
                note="bidirectional BFS, one GetNeighborsBatch per shard per level",
            )
            for q in (50, 95)
        ]
        for name, client in (("1 node", one), ("4 shards", many)):
            began = time.perf_counter()
            found = [[h.concept_id for h in client.vector_search(q, 10)] for q in queries]  # type: ignore[attr-defined]
            qps = len(queries) / (time.perf_counter() - began)
            recall = np.mean([len(set(f) & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
            rows.append(
                Row(f"VectorSearch k=10: {name}", qps, "queries/s", note=f"recall@10 {recall:.3f}")
            )
        rows[-1].baseline, rows[-1].baseline_name = rows[-2].value, "1 node"
    return rows


def _exact_top10(ids: list[str], vectors: np.ndarray, queries: np.ndarray) -> list[list[str]]:
    """The ground truth: exact cosine top 10 in numpy."""
    unit = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    scores = unit @ vectors.T
    return [[ids[i] for i in np.argsort(-row)[:10]] for row in scores]


def _reshard_rows(root: Path, quick: bool) -> list[Row]:
    data = generate(5_000 if quick else 20_000, 15_000 if quick else 60_000, dimension=64)
    rows = []
    for loaded in (False, True):
        tag = "under load" if loaded else "idle"
        with contextlib.ExitStack() as stack:
            servers = stack.enter_context(run_shards(root / f"r-{tag}", 4, ENV))
            added = [
                stack.enter_context(run_server(root / f"r-{tag}-{i}", env=shard_env(i, 6, **ENV)))
                for i in (4, 5)
            ]
            router = stack.enter_context(ShardedStorageClient([s.address for s in servers]))
            began = time.perf_counter()
            load(router, data)
            load_rate = len(data.ids) / (time.perf_counter() - began)
            writes = _Load(router, f"reshard {tag}") if loaded else None
            plan = plan_for([s.address for s in servers], [s.address for s in added], 6, 60)
            move = Reshard(plan, grace=0.0, timeout=60)
            with contextlib.ExitStack() as load_running:
                if writes is not None:
                    load_running.callback(writes.finish)
                    writes.start()
                progress = move.run()
            move.close()
            note = f"{progress.copied} copied of {len(data.ids)}"
            if writes is not None:
                note += f"; {writes.rate():.0f} concepts/s written meanwhile"
            rows.append(
                Row(
                    f"reshard 4 -> 6 ({tag}): concepts moved",
                    progress.rate,
                    "concepts/s",
                    load_rate,
                    "LearnBatch load rate",
                    note=note,
                )
            )
    return rows


class _Load(threading.Thread):
    """LearnBatch of 100 new concepts after another until finished."""

    def __init__(self, router: ShardedStorageClient, tag: str) -> None:
        super().__init__(daemon=True)
        self.router, self.tag, self.done = router, tag, threading.Event()
        self.written, self.began, self.ended = 0, 0.0, 0.0

    def run(self) -> None:
        self.began = time.perf_counter()
        n = 0
        while not self.done.is_set():
            self.router.learn_batch([ConceptInput(f"{self.tag} {n} {i}") for i in range(100)])
            self.written += 100
            n += 1
        self.ended = time.perf_counter()

    def finish(self) -> None:
        self.done.set()
        self.join()

    def rate(self) -> float:
        return self.written / max(self.ended - self.began, 1e-9)


def run(quick: bool = False) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="sutra-bench-shards-") as directory:
        root = Path(directory)
        return (
            _write_rows(root, 20 if quick else 60, 2 if quick else 3)
            + _graph_rows(root, quick)
            + _reshard_rows(root, quick)
        )


if __name__ == "__main__":
    print(table("storage shards (router) vs one node", run(quick="--quick" in sys.argv)))
