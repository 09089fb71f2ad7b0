"""VectorIndex against brute-force numpy: exact path, HNSW path, upserts, persistence, threads."""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sutra.storage.vectors import INDEX_FILE, META_FILE, VectorIndex

DIM = 48


def clustered(n: int, *, seed: int = 0, clusters: int = 60, dim: int = DIM) -> np.ndarray:
    """Points around fixed cluster centres; ``seed`` picks the points, not the centres."""
    centers = np.random.default_rng(dim).standard_normal((clusters, dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    points = centers[rng.integers(0, clusters, n)]
    return points + 0.7 * rng.standard_normal((n, dim)).astype(np.float32)


def make_ids(n: int, offset: int = 0) -> list[bytes]:
    return [(offset + i).to_bytes(16, "big") for i in range(n)]


def brute_force(ids: list[bytes], vectors: np.ndarray, query: np.ndarray, k: int) -> list[bytes]:
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    return [ids[i] for i in np.argsort(-scores, kind="stable")[:k]]


class Store:
    """The (id, vector) source a storage engine would hand the index; counts its reads."""

    def __init__(self) -> None:
        self.vectors: dict[bytes, np.ndarray] = {}
        self.reads = 0

    def put(self, ids: list[bytes], vectors: np.ndarray) -> list[tuple[bytes, np.ndarray]]:
        pairs = list(zip(ids, vectors, strict=True))
        self.vectors.update(pairs)
        return pairs

    def source(self) -> Iterator[tuple[bytes, np.ndarray]]:
        self.reads += 1
        yield from self.vectors.items()


def opened(directory: Path, store: Store, sequence: int, **options: int) -> VectorIndex:
    index = VectorIndex(options.pop("dimension", DIM), directory, **options)
    index.open(store.source, sequence)
    return index


def recall_at_10(index: VectorIndex, ids: list[bytes], vectors: np.ndarray, queries) -> float:
    found = 0
    for query in queries:
        truth = set(brute_force(ids, vectors, query, 10))
        found += len(truth & {hit[0] for hit in index.search(query, 10)})
    return found / (10 * len(queries))


def test_exact_search_matches_brute_force(tmp_path: Path) -> None:
    store = Store()
    index = opened(tmp_path, store, 0)
    try:
        ids, vectors = make_ids(800), clustered(800)
        for start in range(0, 800, 100):
            index.add(store.put(ids[start : start + 100], vectors[start : start + 100]), start)
        assert index.mode == "exact"
        assert len(index) == 800
        for query in clustered(20, seed=1):
            hits = index.search(query, 10)
            assert [hit[0] for hit in hits] == brute_force(ids, vectors, query, 10)
            scores = [hit[1] for hit in hits]
            assert scores == sorted(scores, reverse=True)
            unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
            best = unit[ids.index(hits[0][0])] @ (query / np.linalg.norm(query))
            assert hits[0][1] == pytest.approx(float(best), abs=1e-5)
        assert len(index.search(vectors[0], 5000)) == 800
    finally:
        index.close()


def test_hnsw_recall_and_switch(tmp_path: Path) -> None:
    store = Store()
    index = opened(tmp_path, store, 0, hnsw_threshold=1000)
    try:
        ids, vectors = make_ids(4000), clustered(4000)
        for start in range(0, 4000, 500):
            index.add(store.put(ids[start : start + 500], vectors[start : start + 500]), start)
        assert index.wait_until_indexed(timeout=60)
        assert index.mode == "hnsw"
        assert index.pending == 0
        assert len(index) == 4000
        assert recall_at_10(index, ids, vectors, clustered(200, seed=7)) >= 0.95
        assert len(index.search(vectors[0], 10, ef_search=16)) == 10
    finally:
        index.close()


@pytest.mark.parametrize("threshold", [20_000, 100])
def test_upsert_replaces_the_old_vector(tmp_path: Path, threshold: int) -> None:
    store = Store()
    index = opened(tmp_path, store, 0, hnsw_threshold=threshold)
    try:
        ids, vectors = make_ids(500), clustered(500)
        index.add(store.put(ids, vectors), 1)
        assert index.wait_until_indexed(timeout=30)
        target, old = ids[3], vectors[3]
        new = -old  # as far from the old vector as a vector can be
        index.add(store.put([target], new[None, :]), 2)
        assert len(index) == 500
        assert index.search(new, 1)[0] == (target, pytest.approx(1.0, abs=2e-3))
        assert target not in {hit[0] for hit in index.search(old, 10)}
        index.wait_until_indexed(timeout=30)  # and once the HNSW holds the new vector
        assert index.search(new, 1)[0][0] == target
        assert target not in {hit[0] for hit in index.search(old, 10)}
        # the same id twice in one batch: the last vector wins
        index.add([(ids[4], old), (ids[4], new)], 3)
        assert index.search(new, 2)[0][0] in {target, ids[4]}
        assert ids[4] not in {hit[0] for hit in index.search(old, 10)}
        assert len(index) == 500
    finally:
        index.close()


@pytest.mark.parametrize("threshold", [20_000, 100])
def test_removed_vectors_are_never_found(tmp_path: Path, threshold: int) -> None:
    """Removal reaches the exact buffer and the HNSW, also while vectors are being indexed,
    and survives a save and reload."""
    store = Store()
    index = opened(tmp_path, store, 0, hnsw_threshold=threshold)
    ids, vectors = make_ids(600), clustered(600)
    try:
        index.add(store.put(ids[:300], vectors[:300]), 1)
        index.add(store.put(ids[300:], vectors[300:]), 2)
        index.remove(ids[250:350], 3)  # some pending, some perhaps indexed already
        assert index.wait_until_indexed(timeout=30)
        index.remove(ids[:50], 4)  # indexed by now when the index is an HNSW
        gone = set(ids[:50] + ids[250:350])
        for row in range(0, 600, 7):
            assert gone.isdisjoint(hit[0] for hit in index.search(vectors[row], 10))
        assert len(index) == 450
        assert index.search(vectors[400], 1)[0][0] == ids[400]
    finally:
        index.close()
    for concept_id in gone:
        del store.vectors[concept_id]
    reopened = opened(tmp_path, store, 4, hnsw_threshold=threshold)
    try:
        assert len(reopened) == 450
        assert gone.isdisjoint(hit[0] for hit in reopened.search(vectors[10], 20))
    finally:
        reopened.close()


def test_replaced_pending_vectors_drain_into_the_hnsw(tmp_path: Path) -> None:
    store = Store()
    index = opened(tmp_path, store, 0, hnsw_threshold=200)
    try:
        index.add(store.put(make_ids(250), clustered(250)), 1)
        assert index.wait_until_indexed(timeout=30)
        # One group commit that writes the same 500 concepts twice leaves a run of 500 dead
        # pending rows (fewer than compaction waits for) before the live ones.
        ids = make_ids(500, offset=20_000)
        first = store.put(ids, clustered(500, seed=2))
        index.add(first + store.put(ids, clustered(500, seed=3)), 2)
        assert index.wait_until_indexed(timeout=20)
        assert index.pending == 0
        assert len(index) == 750
        latest = [store.vectors[i] for i in ids]
        found = sum(index.search(v, 1)[0][0] == i for i, v in zip(ids, latest, strict=True))
        assert found >= 0.99 * len(ids)
    finally:
        index.close()


def test_new_vectors_are_searchable_immediately(tmp_path: Path) -> None:
    store = Store()
    index = opened(tmp_path, store, 0, hnsw_threshold=200)
    try:
        index.add(store.put(make_ids(1000), clustered(1000)), 1)
        assert index.wait_until_indexed(timeout=30)
        # Hold the background drain, so the new vectors are certainly pending while searched.
        gate = threading.Event()
        drain = index._drain
        index._drain = lambda: gate.wait(30) and drain()  # type: ignore[method-assign]
        ids, vectors = make_ids(1500, offset=10_000), clustered(1500, seed=3)
        index.add(store.put(ids, vectors), 2)
        assert index.pending == 1500
        last = list(zip(ids, vectors, strict=True))[-20:]
        assert [index.search(v, 1)[0][0] for _, v in reversed(last)] == [i for i, _ in last][::-1]
        assert index.pending == 1500
        assert len(index) == 2500
        gate.set()
        assert index.wait_until_indexed(timeout=30)
        found = sum(index.search(v, 1)[0][0] == i for i, v in zip(ids, vectors, strict=True))
        assert found >= 0.99 * len(ids)  # HNSW: approximate, a rare node is unreachable
    finally:
        index.close()


def build_saved(directory: Path, store: Store, sequence: int) -> list[list[bytes]]:
    """An index over 1500 vectors closed at ``sequence``; returns answers to fixed queries."""
    index = opened(directory, store, 0, hnsw_threshold=300)
    index.add(store.put(make_ids(1500), clustered(1500)), sequence - 1)
    assert index.wait_until_indexed(timeout=30)
    extra = store.put(make_ids(5, offset=50_000), clustered(5, seed=9))
    index.add(extra, sequence)  # may still be pending at close: saved with the index
    answers = [[h[0] for h in index.search(q, 10)] for q in clustered(10, seed=5)]
    index.close()
    assert (directory / INDEX_FILE).exists() and (directory / META_FILE).exists()
    return answers


def test_saved_index_reloads_without_reading_the_store(tmp_path: Path, caplog) -> None:
    store = Store()
    answers = build_saved(tmp_path, store, 10)
    reads = store.reads
    caplog.set_level(logging.INFO, logger="sutra.storage.vectors")
    index = opened(tmp_path, store, 10, hnsw_threshold=300)
    try:
        assert store.reads == reads
        assert index.rebuilds == 0
        assert not any("rebuilding" in r.message for r in caplog.records)
        assert index.mode == "hnsw"
        assert len(index) == 1505
        assert [[h[0] for h in index.search(q, 10)] for q in clustered(10, seed=5)] == answers
        for concept_id, vector in list(store.vectors.items())[-5:]:
            assert index.search(vector, 1)[0][0] == concept_id
    finally:
        index.close()


def corrupt_index(directory: Path) -> None:
    """Invert 64 bytes in the middle: always a change (zeroing them is none where they are 0)."""
    data = bytearray((directory / INDEX_FILE).read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    (directory / INDEX_FILE).write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda d: None, "sequence"),
        (lambda d: (d / INDEX_FILE).unlink(), "no saved index"),
        (lambda d: (d / META_FILE).unlink(), "no saved index"),
        (corrupt_index, "does not match"),
        (lambda d: (d / META_FILE).write_bytes(b"not an npz"), "unreadable"),
        (lambda d: (d / INDEX_FILE).write_bytes(b""), "does not match"),
    ],
    ids=["stale", "index-missing", "meta-missing", "index-corrupt", "meta-corrupt", "empty"],
)
def test_unusable_saved_index_is_rebuilt(tmp_path: Path, caplog, damage, reason: str) -> None:
    store = Store()
    answers = build_saved(tmp_path, store, 10)
    damage(tmp_path)
    sequence = 11 if reason == "sequence" else 10
    reads = store.reads
    caplog.set_level(logging.INFO, logger="sutra.storage.vectors")
    index = opened(tmp_path, store, sequence, hnsw_threshold=300)
    try:
        assert store.reads == reads + 1
        assert index.rebuilds == 1
        assert reason in index.load_reason
        assert any("rebuilding" in r.message and reason in r.message for r in caplog.records)
        assert len(index) == 1505
        assert index.wait_until_indexed(timeout=30)
        assert index.mode == "hnsw"
        got = [[h[0] for h in index.search(q, 10)] for q in clustered(10, seed=5)]
        overlap = sum(len(set(a) & set(b)) for a, b in zip(got, answers, strict=True))
        assert overlap >= 0.9 * 100
    finally:
        index.close()


def test_saved_index_of_another_dimension_is_rebuilt(tmp_path: Path) -> None:
    build_saved(tmp_path, Store(), 10)
    index = VectorIndex(DIM * 2, tmp_path)
    small = Store()
    small.put(make_ids(3), clustered(3, dim=DIM * 2))
    index.open(small.source, 10)
    try:
        assert "dimension" in index.load_reason
        assert small.reads == 1
        assert len(index) == 3
    finally:
        index.close()
    assert not (tmp_path / INDEX_FILE).exists()  # an exact-only index leaves no stale file


def test_wrong_dimension_names_both_sizes(tmp_path: Path) -> None:
    store = Store()
    index = opened(tmp_path, store, 0)
    try:
        with pytest.raises(ValueError, match=rf"\b{DIM + 1}\b.*\b{DIM}\b"):
            index.add([(make_ids(1)[0], np.ones(DIM + 1, dtype=np.float32))], 1)
        with pytest.raises(ValueError, match=rf"\b{DIM - 8}\b.*\b{DIM}\b"):
            index.search(np.ones(DIM - 8, dtype=np.float32), 3)
        assert len(index) == 0  # the rejected batch changed nothing
        wrong = Store()
        wrong.put(make_ids(1), np.ones((1, 12), dtype=np.float32))
        with pytest.raises(ValueError, match=rf"\b12\b.*\b{DIM}\b"):
            VectorIndex(DIM, tmp_path / "other").open(wrong.source, 0)
    finally:
        index.close()


def test_concurrent_searches_during_writes(tmp_path: Path) -> None:
    store = Store()
    index = opened(tmp_path, store, 0, hnsw_threshold=1500)
    ids, vectors = make_ids(4000), clustered(4000)
    errors: list[BaseException] = []
    done = threading.Event()

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            while not done.is_set():
                hits = index.search(rng.standard_normal(DIM).astype(np.float32), 10)
                assert len({h[0] for h in hits}) == len(hits)
                assert all(a[1] >= b[1] for a, b in itertools.pairwise(hits))
        except BaseException as error:
            errors.append(error)

    readers = [threading.Thread(target=reader, args=(seed,)) for seed in range(3)]
    for thread in readers:
        thread.start()
    try:
        rng = np.random.default_rng(11)
        for sequence, start in enumerate(range(0, 4000, 100), start=1):
            index.add(store.put(ids[start : start + 100], vectors[start : start + 100]), sequence)
            again = rng.integers(0, start + 100, 20)  # upserts of earlier ids
            fresh = clustered(20, seed=100 + sequence)
            index.add(store.put([ids[i] for i in again], fresh), sequence)
    finally:
        done.set()
        for thread in readers:
            thread.join()
    try:
        assert errors == []
        assert len(index) == 4000
        assert index.wait_until_indexed(timeout=60)
        assert index.mode == "hnsw"
        final = np.stack([store.vectors[i] for i in ids])
        assert recall_at_10(index, ids, final, clustered(50, seed=8)) >= 0.95
    finally:
        index.close()
