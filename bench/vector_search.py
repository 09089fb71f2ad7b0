"""Vector search: VectorIndex (HNSW path) against exact numpy search on the same data.

Data: N x 384 float32 vectors around C gaussian cluster centres (noise as strong as the
centres: points of one cluster have cosine ~0.5 with each other), generated from fixed
seeds; queries are further points from the same distribution, not in the index.
Figures: recall@10 against the exact top 10, and single-query throughput (one query in
flight) of VectorIndex.search and, as the baseline, of exact numpy search (the matrix of
unit vectors times the query, argpartition). Then the same data is loaded into a real
storage server (LearnBatch) and searched through gRPC VectorSearch.
"""

from __future__ import annotations

import contextlib
import ctypes
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from common import Row, fmt, table, wait_idle

from sutra.storage.vectors import VectorIndex

DIM = 384
K = 10


def dataset(n: int, queries: int, clusters: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20_240_384)
    centres = rng.standard_normal((clusters, DIM), dtype=np.float32)
    labels = rng.integers(0, clusters, n + queries)
    points = centres[labels]
    points += rng.standard_normal((n + queries, DIM), dtype=np.float32)
    return points[:n], points[n:]


def unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def exact_top(matrix: np.ndarray, query: np.ndarray, k: int = K) -> np.ndarray:
    """The baseline: one exact query over a matrix of unit vectors."""
    scores = matrix @ (query / np.linalg.norm(query))
    top = np.argpartition(scores, len(scores) - k)[-k:]
    return top[np.argsort(scores[top])[::-1]]


class BlasThreads:
    """Set OpenBLAS's thread count at run time (numpy's bundled OpenBLAS), if reachable.

    Two BLAS threads win on an idle machine, one wins when another process holds a core
    (the threads wait for each other); the exact baseline is measured both ways and the
    better one counts, so the baseline is never weakened by the machine's load.
    """

    def __init__(self) -> None:
        self._set = self._get = None
        with contextlib.suppress(OSError):
            maps = Path("/proc/self/maps").read_text()
            paths = sorted({line.split()[-1] for line in maps.splitlines() if "openblas" in line})
            for path in paths:
                lib = ctypes.CDLL(path)
                for prefix in ("scipy_openblas", "openblas"):
                    for suffix in ("64_", ""):
                        setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                        getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                        if setter is not None and getter is not None:
                            self._set, self._get = setter, getter
                            return

    @property
    def available(self) -> bool:
        return self._set is not None

    @contextlib.contextmanager
    def limit(self, threads: int) -> Iterator[None]:
        if self._set is None or self._get is None:
            yield
            return
        before = int(self._get())
        self._set(threads)
        try:
            yield
        finally:
            self._set(before)


def ground_truth(matrix: np.ndarray, queries: np.ndarray) -> np.ndarray:
    truth = np.empty((len(queries), K), dtype=np.int64)
    for start in range(0, len(queries), 100):
        scores = unit(queries[start : start + 100]) @ matrix.T
        top = np.argpartition(scores, -K, axis=1)[:, -K:]
        order = np.argsort(np.take_along_axis(scores, top, axis=1), axis=1)[:, ::-1]
        truth[start : start + 100] = np.take_along_axis(top, order, axis=1)
    return truth


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    hits = sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth, strict=True))
    return hits / (K * len(truth))


def qps(fn, queries: np.ndarray) -> tuple[float, list]:
    started = time.perf_counter()
    out = [fn(q) for q in queries]
    return len(queries) / (time.perf_counter() - started), out


def interleaved(
    contenders: dict[str, tuple[Callable[[np.ndarray], object], int]],
    queries: np.ndarray,
    rounds: int,
) -> dict[str, float]:
    """Best single-query rate of each contender over `rounds` alternating rounds.

    Alternating the baseline and the index round by round exposes both to the same
    background load, and the best round of each is the one least disturbed by it.
    """
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(rounds):
        for name, (fn, per_round) in contenders.items():
            offset = (round_ * per_round) % len(queries)
            batch = np.roll(queries, -offset, axis=0)[:per_round]
            rates[name].append(qps(fn, batch)[0])
    return {name: max(values) for name, values in rates.items()}


def concept_id(i: int) -> bytes:
    return i.to_bytes(16, "big")


def run(quick: bool = False, grpc: bool = True) -> list[Row]:
    n, n_queries, clusters = (20_000, 300, 200) if quick else (100_000, 1_000, 1_000)
    print(f"vector_search: generating {n:,} x {DIM} vectors in {clusters} clusters", flush=True)
    data, queries = dataset(n, n_queries, clusters)
    matrix = unit(data)
    truth = ground_truth(matrix, queries)

    exact_found = [exact_top(matrix, q).tolist() for q in queries]
    assert recall(exact_found, truth) > 0.999  # the baseline is the reference
    rows: list[Row] = []

    with tempfile.TemporaryDirectory(prefix="sutra-bench-vectors-") as directory:
        index = VectorIndex(DIM, Path(directory), hnsw_threshold=min(20_000, n // 2))
        started = time.perf_counter()
        index.open(lambda: ((concept_id(i), data[i]) for i in range(n)), 0)
        loaded = time.perf_counter() - started
        index.wait_until_indexed()
        built = time.perf_counter() - started
        assert index.mode == "hnsw" and index.pending == 0
        print(
            f"vector_search: loaded {n:,} vectors in {loaded:.1f} s, HNSW ready after "
            f"{built:.1f} s ({n / built:,.0f} vectors/s, {index.threads} threads, "
            f"{index.dtype}, M={index.connectivity}, ef_add={index.expansion_add})",
            flush=True,
        )
        efs = sorted({32, index.expansion_search, 64, 128})
        blas = BlasThreads()

        def exact_one_thread(q: np.ndarray) -> object:
            with blas.limit(1):
                return exact_top(matrix, q)

        contenders: dict[str, tuple[Callable[[np.ndarray], object], int]] = {
            "exact": (lambda q: exact_top(matrix, q), 100)
        }
        if blas.available:
            contenders["exact 1 thread"] = (exact_one_thread, 100)
        for ef in efs:
            contenders[f"ef={ef}"] = (lambda q, ef=ef: index.search(q, K, ef_search=ef), 500)
        rates = interleaved(contenders, queries, rounds=3 if quick else 7)
        exact_qps = max(rates["exact"], rates.get("exact 1 thread", 0.0))
        print(
            f"vector_search: exact numpy {rates['exact']:,.0f} q/s with default BLAS threads, "
            f"{rates.get('exact 1 thread', float('nan')):,.0f} q/s with one; baseline = the "
            "better",
            flush=True,
        )
        for ef in efs:
            hits = [index.search(q, K, ef_search=ef) for q in queries]
            found = [[int.from_bytes(h[0], "big") for h in hit] for hit in hits]
            r = recall(found, truth)
            rate = rates[f"ef={ef}"]
            default = ef == index.expansion_search
            rows.append(
                Row(
                    f"VectorIndex.search ef={ef}{' (default)' if default else ''}, 1 in flight",
                    rate,
                    "q/s",
                    exact_qps,
                    "exact numpy",
                    # the target is for 100k vectors; at --quick size exact search is 5x faster
                    (">= 20x exact" if not quick else "(>= 20x at 100k)") if default else "",
                    rate >= 20 * exact_qps if default and not quick else None,
                    f"recall@10 {r:.4f}",
                )
            )
            if default:
                rows.append(
                    Row(
                        f"recall@10 ef={ef} (default)",
                        r,
                        "",
                        recall(exact_found, truth),
                        "exact numpy",
                        ">= 0.95",
                        r >= 0.95,
                    )
                )
        index.close()
        size = sum(p.stat().st_size for p in Path(directory).iterdir())
        print(f"vector_search: saved index {size / 2**20:,.0f} MiB", flush=True)

    if grpc:
        rows += run_grpc(data, queries, truth, exact_qps)
    print(table(f"vector search: {n:,} x {DIM}, {clusters} clusters, k={K}", rows), flush=True)
    return rows


def run_grpc(data: np.ndarray, queries: np.ndarray, truth: np.ndarray, exact_qps: float):
    from concurrent.futures import ThreadPoolExecutor

    from sutra.storage.client import ConceptInput, StorageClient
    from sutra.storage.testing import run_server

    n = len(data)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sutra-bench-vgrpc-") as directory:
        env = {"SUTRA_VECTOR_DIMENSION": str(DIM)}
        with (
            run_server(Path(directory) / "data", env=env) as server,
            StorageClient(server.address, timeout=60) as client,
        ):
            started = time.perf_counter()
            for start in range(0, n, 1000):
                client.learn_batch(
                    ConceptInput(f"concept {i}", f"{i:032x}", data[i])
                    for i in range(start, min(n, start + 1000))
                )
            ingest = time.perf_counter() - started
            waited = wait_idle(server.pid)
            print(
                f"vector_search: gRPC ingest of {n:,} vectors (LearnBatch 1000) took "
                f"{ingest:.1f} s ({n / ingest:,.0f}/s); index settled {waited:.0f} s later",
                flush=True,
            )

            def search(q: np.ndarray) -> list[int]:
                return [int(h.concept_id, 16) for h in client.vector_search(q, K)]

            found = [search(q) for q in queries]
            rate = max(qps(search, queries[:500])[0] for _ in range(3))
            rows.append(
                Row(
                    "gRPC VectorSearch, 1 in flight",
                    rate,
                    "q/s",
                    exact_qps,
                    "in-process exact numpy",
                    "",
                    None,
                    f"recall@10 {recall(found, truth):.4f}",
                )
            )
            with ThreadPoolExecutor(4) as pool:
                started = time.perf_counter()
                found = list(pool.map(search, queries))
                rate = len(queries) / (time.perf_counter() - started)
            rows.append(
                Row(
                    "gRPC VectorSearch, 4 in flight",
                    rate,
                    "q/s",
                    exact_qps,
                    "in-process exact numpy",
                    "",
                    None,
                    f"recall@10 {recall(found, truth):.4f}",
                )
            )
    return rows


if __name__ == "__main__":
    import sys

    result = run(quick="--quick" in sys.argv)
    print(fmt(result[0].value))
