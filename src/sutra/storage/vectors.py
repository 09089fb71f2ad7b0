"""The storage server's vector index: exact search for small collections, HNSW for large ones.

Similarity is cosine. Vectors are L2-normalised on the way in, so the exact path is one
matrix-vector product and the HNSW path (usearch, cosine metric) returns ``1 - distance``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from usearch.index import Index

log = logging.getLogger(__name__)

INDEX_FILE = "vectors.usearch"
META_FILE = "vectors.meta.npz"
FORMAT_VERSION = 1
ID_BYTES = 16

Pair = tuple[bytes, np.ndarray]
Hit = tuple[bytes, float]


def available_cpus() -> int:
    """CPUs this process may really use: the affinity mask capped by the cgroup CPU quota.

    A pod limited to 2 CPUs on a 64-core node sees 64 cores in its affinity mask; sizing
    thread pools from that would oversubscribe the quota and get the process throttled.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cpus = cpus or 1
    with contextlib.suppress(OSError, ValueError):
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    return cpus


def _check_dimension(vector_size: int, dimension: int, what: str = "vector") -> None:
    if vector_size != dimension:
        raise ValueError(
            f"{what} has {vector_size} dimensions but this store's vectors have {dimension}"
        )


def _normalised(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; an all-zero row stays zero (it matches nothing)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix


class _Buffer:
    """Append-only rows of normalised vectors, scanned exactly.

    Rows are never rewritten once appended, so a reader that took a snapshot (array
    references, the row count and a copy of the live mask) can compute without a lock while
    the writer appends. Replacing a vector appends a new row and marks the old one dead;
    rows handed to the HNSW are marked dead too. ``start`` skips the dead prefix, and the
    maintenance thread compacts when dead rows outnumber live ones. All methods run under
    the owning VectorIndex's lock.
    """

    def __init__(self, dimension: int, capacity: int = 64) -> None:
        self.matrix = np.empty((capacity, dimension), dtype=np.float32)
        self.live = np.zeros(capacity, dtype=bool)
        self.ids: list[bytes] = []
        self.row_of: dict[bytes, int] = {}
        self.start = 0

    @property
    def n(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.row_of)

    def append(self, ids: Sequence[bytes], vectors: np.ndarray) -> None:
        n, m = self.n, len(ids)
        if n + m > len(self.matrix):
            capacity = max(64, 1 << (n + m - 1).bit_length())
            matrix = np.empty((capacity, self.matrix.shape[1]), dtype=np.float32)
            matrix[:n] = self.matrix[:n]
            live = np.zeros(capacity, dtype=bool)
            live[:n] = self.live[:n]
            self.matrix, self.live = matrix, live
        self.matrix[n : n + m] = vectors
        self.live[n : n + m] = True
        for offset, concept_id in enumerate(ids):  # a repeated id keeps only its last row
            old = self.row_of.get(concept_id)
            if old is not None:
                self.live[old] = False
            self.row_of[concept_id] = n + offset
        self.ids.extend(ids)

    def retire(self, rows: Iterable[int]) -> None:
        """Mark rows dead if they are still the current row of their id."""
        for row in rows:
            concept_id = self.ids[row]
            if self.row_of.get(concept_id) == row:
                del self.row_of[concept_id]
                self.live[row] = False
        self.skip_dead()

    def skip_dead(self) -> None:
        """Advance ``start`` past dead rows (moved to the HNSW or replaced since)."""
        while self.start < self.n and not self.live[self.start]:
            self.start += 1

    def snapshot(self) -> tuple[np.ndarray, list[bytes], int, np.ndarray]:
        """(matrix, ids, first row, live mask copy of rows first..n) for a lock-free scan."""
        n = self.n
        return self.matrix, self.ids, self.start, self.live[self.start : n].copy()

    def wants_compaction(self) -> bool:
        dead = self.n - len(self.row_of)
        return dead > max(1024, len(self.row_of))

    def compacted(self) -> _Buffer:
        rows = np.flatnonzero(self.live[: self.n])
        fresh = _Buffer(self.matrix.shape[1], max(64, 1 << (2 * len(rows)).bit_length()))
        fresh.append([self.ids[r] for r in rows], self.matrix[rows])
        return fresh


class VectorIndex:
    def __init__(
        self,
        dimension: int,
        directory: Path,
        *,
        hnsw_threshold: int = 20_000,
        dtype: str = "f16",
        connectivity: int = 16,
        expansion_add: int = 64,
        expansion_search: int = 48,
        threads: int | None = None,
    ) -> None:
        """Cosine top-k over the store's concept vectors, searchable the moment they commit.

        Design:
        - Below ``hnsw_threshold`` vectors, search is exact: a contiguous float32 matrix of
          unit vectors (grown by doubling), one ``matrix @ query`` and an argpartition. It is
          the reference answer and, at that size, fast enough.
        - When the collection crosses the threshold, a background thread builds an HNSW
          index (usearch, cosine) while the exact path keeps serving, then swaps it in and
          frees the matrix rows it absorbed. Defaults, measured on 100k x 384 clustered
          vectors (bench/vector_search.py): f16 storage halves memory and kept recall@10
          above 0.99 like f32 (i8 fell to 0.93); M=16 with ef_add=64 builds twice as fast
          as ef_add=128 at equal recall; ef_search=48 gives recall@10 ~0.99 at ~20x the
          exact throughput. A request may ask for a larger ``ef_search``.
        - ``add()`` never waits for the HNSW: it appends to a pending buffer under a short
          lock and returns. The background thread moves pending vectors into the HNSW in
          small chunks. ``search()`` merges HNSW hits with an exact scan of the pending
          buffer (whose newer vectors override the HNSW's copy of the same id), so a write
          is visible to the next search.
        - usearch keys are uint64, concept ids 16 bytes: every vector that enters the HNSW
          gets a fresh key, and replacing a vector removes the old key.
        - usearch releases the GIL but its per-call thread contexts are not safe for
          concurrent calls, so HNSW calls are serialised by ``_hnsw_lock``; ``_lock`` guards
          the buffer and is only ever held for O(batch) bookkeeping. The lock order is
          ``_hnsw_lock`` then ``_lock``; search takes them one after the other, never nested.
        - ``close()`` saves the HNSW beside the store (``vectors.usearch``) with a metadata
          file (``vectors.meta.npz``: key -> id mapping, still-pending vectors, the store
          sequence it reflects, the index file's size and CRC), each written to a temporary
          file, fsynced and renamed. ``open()`` reuses them only if everything matches and
          otherwise rebuilds from the store, logging why.
        - ``threads`` (default: the CPUs the cgroup quota allows) bounds usearch's insert
          threads; a single query always runs on the calling thread.
        """
        if dimension <= 0:
            raise ValueError(f"dimension must be positive, got {dimension}")
        self.dimension = dimension
        self.directory = Path(directory)
        self.hnsw_threshold = max(1, hnsw_threshold)
        self.dtype = dtype
        self.connectivity = connectivity
        self.expansion_add = expansion_add
        self.expansion_search = expansion_search
        self.threads = threads or available_cpus()
        self.chunk = 64  # vectors per HNSW insert call once live: bounds a search's wait
        self.rebuilds = 0  # times open() read the store instead of the saved index
        self.load_reason = ""  # why open() rebuilt ("" when the saved index was used)

        self._lock = threading.Lock()
        self._hnsw_lock = threading.Lock()
        self._buffer = _Buffer(dimension)
        self._hnsw: Index | None = None
        self._key_of: dict[bytes, int] = {}  # ids whose vector is in the HNSW -> key
        self._id_of: dict[int, bytes] = {}  # HNSW key -> id
        self._next_key = 0
        # Ids removed since the background thread picked the vectors it is indexing: an
        # HNSW insert of one of them that lands after its removal is undone (`_undo_removed`).
        self._gone: set[bytes] = set()
        self._sequence = 0
        self._opened = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._idle = threading.Condition(threading.Lock())
        self._failed = False
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    def open(self, source: Callable[[], Iterable[Pair]], sequence: int) -> None:
        """Load the saved HNSW if it matches ``sequence``; else rebuild from ``source()``."""
        if self._opened:
            raise RuntimeError("vector index is already open")
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in (INDEX_FILE, META_FILE):  # left by a crash in the middle of a save
            (self.directory / f"{name}.tmp").unlink(missing_ok=True)
        reason = self._load(sequence)
        if reason:
            self.load_reason = reason
            self.rebuilds += 1
            log.info("vector index: rebuilding from the store (%s)", reason)
            self._rebuild(source)
        else:
            log.info(
                "vector index: loaded %d vectors at sequence %d from %s",
                len(self),
                sequence,
                self.directory / INDEX_FILE,
            )
        self._sequence = sequence
        self._opened = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._maintain, name="vector-index", daemon=True)
        self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Stop the background thread and save the HNSW (if any) with its sequence."""
        if not self._opened:
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        self._opened = False
        with self._hnsw_lock, self._lock:
            if self._hnsw is not None:
                self._save()
            else:
                for name in (META_FILE, INDEX_FILE):
                    (self.directory / name).unlink(missing_ok=True)

    # ---------------------------------------------------------------- writes

    def add(self, items: Sequence[Pair], sequence: int) -> None:
        """Upsert vectors committed at ``sequence``; cheap, searchable on return."""
        if not self._opened:
            raise RuntimeError("vector index is not open")
        if not items:  # a commit without vectors only moves the sequence
            with self._lock:
                self._sequence = sequence
            return
        ids, matrix = self._validated(items)
        with self._lock:
            if ids:
                self._buffer.append(ids, matrix)
            self._sequence = sequence
        if ids:
            self._wake.set()

    def remove(self, ids: Sequence[bytes], sequence: int) -> None:
        """Forget the vectors of ``ids`` (deleted at ``sequence``); searchable on return."""
        if not self._opened:
            raise RuntimeError("vector index is not open")
        ids = [c if type(c) is bytes else bytes(c) for c in ids]
        with self._hnsw_lock:
            keys = [self._key_of.pop(c) for c in ids if c in self._key_of]
            if keys and self._hnsw is not None:
                self._hnsw.remove(np.array(keys, dtype=np.uint64))
            for key in keys:
                del self._id_of[key]
            with self._lock:
                buffer = self._buffer
                buffer.retire([buffer.row_of[c] for c in ids if c in buffer.row_of])
                self._gone.update(ids)
                self._sequence = sequence

    def _undo_removed(self, ids: Sequence[bytes]) -> None:
        """Take out of the HNSW those of ``ids`` removed while they were being inserted.

        Called with ``_hnsw_lock`` held, after the insert and its key bookkeeping."""
        with self._lock:
            late = [c for c in ids if c in self._gone and c in self._key_of]
        if not late:
            return
        keys = [self._key_of.pop(c) for c in late]
        assert self._hnsw is not None
        self._hnsw.remove(np.array(keys, dtype=np.uint64))
        for key in keys:
            del self._id_of[key]

    def _validated(self, items: Sequence[Pair]) -> tuple[list[bytes], np.ndarray]:
        """(ids, unit rows): the vectors stacked into one new block, checked and normalised
        as a whole; a bad item gets the same message as when checked on its own."""
        ids = [c if type(c) is bytes else bytes(c) for c, _ in items]
        for concept_id in ids:
            if len(concept_id) != ID_BYTES:
                raise ValueError(f"concept id must be {ID_BYTES} bytes, got {len(concept_id)}")
        if not items:
            return ids, np.empty((0, self.dimension), dtype=np.float32)
        try:
            matrix = np.array([vector for _, vector in items], dtype=np.float32)
        except (ValueError, TypeError):  # ragged or not numeric: find the culprit
            matrix = None
        if (
            matrix is None
            or matrix.ndim != 2
            or matrix.shape[1] != self.dimension
            or not np.isfinite(matrix).all()
        ):
            for _, vector in items:
                self._as_vector(vector)  # raises the precise error
            raise ValueError("vectors must be one-dimensional float arrays")  # pragma: no cover
        return ids, _normalised(matrix)

    def _as_vector(self, vector: np.ndarray, what: str = "vector") -> np.ndarray:
        array = np.asarray(vector, dtype=np.float32)
        if array.ndim != 1:
            raise ValueError(f"{what} must be one-dimensional, got shape {array.shape}")
        _check_dimension(array.shape[0], self.dimension, what)
        if not np.isfinite(array).all():
            raise ValueError(f"{what} contains NaN or infinite values")
        return array

    # ---------------------------------------------------------------- reads

    def __len__(self) -> int:
        """Distinct concepts with a vector."""
        with self._lock:
            pending, indexed = self._buffer.row_of, self._key_of
            if not indexed:
                return len(pending)
            return len(indexed) + sum(1 for c in pending if c not in indexed)

    @property
    def mode(self) -> str:
        return "hnsw" if self._hnsw is not None else "exact"

    @property
    def pending(self) -> int:
        """Vectors not yet in the HNSW (all of them while the index is exact)."""
        return len(self._buffer)

    def search(self, query: np.ndarray, k: int, ef_search: int | None = None) -> list[Hit]:
        """The ``k`` most similar concepts, best first, as (id, cosine similarity)."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        if ef_search is not None and ef_search < 1:
            raise ValueError(f"ef_search must be at least 1, got {ef_search}")
        q = np.asarray(query, dtype=np.float32)
        if q.ndim != 1 or q.shape[0] != self.dimension:
            q = self._as_vector(q, "query vector")  # raises the precise error
        with np.errstate(over="ignore", invalid="ignore"):
            squared = float(np.dot(q, q))
        if not math.isfinite(squared):  # NaN/inf anywhere makes the sum non-finite
            q = self._as_vector(q, "query vector") / np.abs(q).max()
            squared = float(np.dot(q, q))
        q = q / math.sqrt(squared) if squared > 0 else q

        with self._lock:
            matrix, ids, start, live = self._buffer.snapshot()
            hnsw = self._hnsw
        hits = self._scan(matrix, ids, start, live, q, k) if len(live) else []
        if hnsw is None:
            return hits
        overridden = {ids[start + row] for row in np.flatnonzero(live).tolist()}
        from_hnsw = self._hnsw_search(hnsw, q, k, ef_search, overridden)
        if not hits:
            return from_hnsw
        merged = dict(hits)
        for concept_id, score in from_hnsw:
            merged.setdefault(concept_id, score)
        return sorted(merged.items(), key=lambda hit: hit[1], reverse=True)[:k]

    @staticmethod
    def _scan(
        matrix: np.ndarray, ids: list[bytes], start: int, live: np.ndarray, q: np.ndarray, k: int
    ) -> list[Hit]:
        count = len(live)
        alive = int(live.sum())
        if alive == 0:
            return []
        scores = matrix[start : start + count] @ q
        if alive < count:
            scores[~live] = -np.inf
        k = min(k, alive)
        top = np.argpartition(scores, count - k)[count - k :] if k < count else np.arange(count)
        top = top[np.argsort(scores[top])[::-1]]
        return [(ids[start + int(r)], float(scores[r])) for r in top]

    def _hnsw_search(
        self, hnsw: Index, q: np.ndarray, k: int, ef_search: int | None, overridden: set[bytes]
    ) -> list[Hit]:
        """HNSW top-k skipping ids whose newer vector is pending; widen until k survive."""
        want = k + min(len(overridden), k)
        while True:
            ef = max(ef_search or self.expansion_search, want)
            with self._hnsw_lock:
                if self._hnsw is not hnsw:  # closed meanwhile
                    return []
                if ef != self.expansion_search:
                    hnsw.expansion_search = ef
                try:
                    keys, distances, counts = _search_one(hnsw, q, want)
                finally:
                    if ef != self.expansion_search:
                        hnsw.expansion_search = self.expansion_search
                id_of = self._id_of
                count = int(counts[0])
                pairs = [
                    (id_of[key], 1.0 - distance)
                    for key, distance in zip(
                        keys[0, :count].tolist(), distances[0, :count].tolist(), strict=True
                    )
                ]
            hits = [pair for pair in pairs if pair[0] not in overridden]
            if len(hits) >= k or len(pairs) < want:
                return hits[:k]
            want *= 2

    # ---------------------------------------------------------------- background work

    def wait_until_indexed(self, timeout: float | None = None) -> bool:
        """Block until the HNSW exists (if the collection needs one) and nothing is pending."""

        def settled() -> bool:
            if self._hnsw is None:
                return len(self._buffer) < self.hnsw_threshold or self._failed
            return len(self._buffer) == 0

        with self._idle:
            return self._idle.wait_for(settled, timeout)

    def _maintain(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1.0)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self._step():
                    with self._idle:
                        self._idle.notify_all()
            except Exception:
                self._failed = True
                log.exception("vector index: background indexing failed; search stays exact")
            with self._idle:
                self._idle.notify_all()

    def _step(self) -> bool:
        """One unit of background work; False when there is nothing left to do."""
        with self._lock:
            if self._buffer.wants_compaction():
                self._buffer = self._buffer.compacted()
        if self._failed:
            return False
        if self._hnsw is None:
            if len(self._buffer) < self.hnsw_threshold:
                return False
            self._build()
            return True
        return self._drain()

    def _new_hnsw(self) -> Index:
        return Index(
            ndim=self.dimension,
            metric="cos",
            dtype=self.dtype,
            connectivity=self.connectivity,
            expansion_add=self.expansion_add,
            expansion_search=self.expansion_search,
        )

    def _build(self) -> None:
        """Build an HNSW from every buffered vector off to the side, then swap it in."""
        with self._lock:
            matrix, ids, start, live = self._buffer.snapshot()
            buffer = self._buffer
            self._gone.clear()
        rows = np.flatnonzero(live) + start
        log.info("vector index: building HNSW over %d vectors", len(rows))
        hnsw = self._new_hnsw()
        keys = np.arange(self._next_key, self._next_key + len(rows), dtype=np.uint64)
        for begin in range(0, len(rows), 4096):
            if self._stop.is_set():
                return
            part = rows[begin : begin + 4096]
            hnsw.add(keys[begin : begin + 4096], matrix[part], threads=self.threads)
        with self._hnsw_lock, self._lock:
            for key, row in zip(keys.tolist(), rows.tolist(), strict=True):
                self._key_of[ids[row]] = key
                self._id_of[key] = ids[row]
            self._next_key += len(rows)
            self._hnsw = hnsw
            if buffer is self._buffer:
                buffer.retire(rows.tolist())
        with self._hnsw_lock:
            self._undo_removed([ids[row] for row in rows.tolist()])
        log.info("vector index: HNSW serving %d vectors", len(rows))

    def _drain(self) -> bool:
        """Move up to ``chunk`` pending vectors into the HNSW."""
        with self._lock:
            buffer = self._buffer
            buffer.skip_dead()
            end = min(buffer.n, buffer.start + 4 * self.chunk)
            rows = (np.flatnonzero(buffer.live[buffer.start : end]) + buffer.start)[: self.chunk]
            ids = [buffer.ids[r] for r in rows.tolist()]
            vectors = buffer.matrix[rows]
            if not ids:
                return False
            self._gone.clear()
        assert self._hnsw is not None
        keys = np.arange(self._next_key, self._next_key + len(ids), dtype=np.uint64)
        with self._hnsw_lock:
            old = [self._key_of[c] for c in ids if c in self._key_of]
            if old:
                self._hnsw.remove(np.array(old, dtype=np.uint64))
                for key in old:
                    del self._id_of[key]
            self._hnsw.add(keys, vectors, threads=min(self.threads, 2))
            for key, concept_id in zip(keys.tolist(), ids, strict=True):
                self._key_of[concept_id] = key
                self._id_of[key] = concept_id
            self._next_key += len(ids)
            self._undo_removed(ids)
        with self._lock:
            if buffer is self._buffer:
                buffer.retire(rows.tolist())
        return True

    # ---------------------------------------------------------------- persistence

    def _rebuild(self, source: Callable[[], Iterable[Pair]]) -> None:
        self._buffer = _Buffer(self.dimension)
        self._hnsw = None
        self._key_of.clear()
        self._id_of.clear()
        self._next_key = 0
        batch: list[Pair] = []
        for pair in source():
            batch.append(pair)
            if len(batch) == 4096:
                self._buffer.append(*self._validated(batch))
                batch = []
        if batch:
            self._buffer.append(*self._validated(batch))

    def _load(self, sequence: int) -> str:
        """Adopt the saved index; returns why it cannot be used ("" on success)."""
        meta_path, index_path = self.directory / META_FILE, self.directory / INDEX_FILE
        if not meta_path.exists() or not index_path.exists():
            return "no saved index"
        try:
            with np.load(meta_path, allow_pickle=False) as saved:
                meta = json.loads(saved["meta"].tobytes())
                keys = saved["keys"]
                ids = saved["ids"]
                pending_ids = saved["pending_ids"]
                pending_vectors = saved["pending_vectors"]
        except Exception as error:
            return f"unreadable {META_FILE}: {error}"
        expected = {
            "format": FORMAT_VERSION,
            "dimension": self.dimension,
            "dtype": self.dtype,
            "connectivity": self.connectivity,
        }
        for field, want in expected.items():
            if meta.get(field) != want:
                return f"saved index has {field} {meta.get(field)!r}, expected {want!r}"
        if meta.get("sequence") != sequence:
            return f"saved index reflects sequence {meta.get('sequence')}, store is at {sequence}"
        size, crc = _file_crc(index_path)
        if (size, crc) != (meta.get("index_size"), meta.get("index_crc32")):
            return f"{INDEX_FILE} does not match its metadata (size or checksum)"
        try:
            hnsw = Index.restore(str(index_path))
        except Exception as error:
            return f"unreadable {INDEX_FILE}: {error}"
        if hnsw is None or hnsw.ndim != self.dimension or len(hnsw) != len(keys):
            return f"{INDEX_FILE} does not match its metadata (dimension or size)"
        hnsw.expansion_search = self.expansion_search
        hnsw.expansion_add = self.expansion_add
        id_list = [row.tobytes() for row in ids]
        self._key_of = dict(zip(id_list, keys.tolist(), strict=True))
        self._id_of = dict(zip(keys.tolist(), id_list, strict=True))
        self._next_key = int(meta["next_key"])
        self._hnsw = hnsw
        self._buffer = _Buffer(self.dimension)
        if len(pending_ids):
            self._buffer.append([row.tobytes() for row in pending_ids], pending_vectors)
        return ""

    def _save(self) -> None:
        """Write index then metadata, each atomically; the metadata pins the index's CRC."""
        assert self._hnsw is not None
        index_path, meta_path = self.directory / INDEX_FILE, self.directory / META_FILE
        tmp = index_path.with_name(index_path.name + ".tmp")
        self._hnsw.save(str(tmp))
        _fsync_file(tmp)
        size, crc = _file_crc(tmp)
        os.replace(tmp, index_path)

        matrix, ids, start, live = self._buffer.snapshot()
        rows = np.flatnonzero(live) + start
        meta = {
            "format": FORMAT_VERSION,
            "dimension": self.dimension,
            "dtype": self.dtype,
            "connectivity": self.connectivity,
            "sequence": self._sequence,
            "next_key": self._next_key,
            "index_size": size,
            "index_crc32": crc,
        }
        id_list = list(self._key_of)

        def id_matrix(values: list[bytes]) -> np.ndarray:
            joined = b"".join(values)
            return np.frombuffer(joined, dtype=np.uint8).reshape(len(values), ID_BYTES)

        tmp = meta_path.with_name(meta_path.name + ".tmp")
        with open(tmp, "wb") as out:
            np.savez(
                out,
                meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
                keys=np.array([self._key_of[c] for c in id_list], dtype=np.uint64),
                ids=id_matrix(id_list),
                pending_ids=id_matrix([ids[r] for r in rows.tolist()]),
                pending_vectors=matrix[rows],
            )
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, meta_path)
        _fsync_dir(self.directory)
        log.info(
            "vector index: saved %d vectors (+%d pending) at sequence %d",
            len(id_list),
            len(rows),
            self._sequence,
        )


def _search_one(hnsw: Index, q: np.ndarray, count: int) -> tuple[np.ndarray, ...]:
    """One query on the calling thread: (keys, distances, counts), each with one row.

    Calls the compiled index directly when this usearch exposes it (2.26 does): the public
    ``Index.search`` wraps every answer in Python match objects, which costs about a tenth
    of a query at 100k vectors.
    """
    compiled = getattr(hnsw, "_compiled", None)
    if compiled is not None and hasattr(compiled, "search_many"):
        keys, distances, counts = compiled.search_many(q[None, :], count, False, 1)[:3]
        return keys, distances, counts
    found = hnsw.search(q, count, threads=1)
    return found.keys[None, :], found.distances[None, :], np.array([len(found.keys)])


def _file_crc(path: Path) -> tuple[int, int]:
    crc, size = 0, 0
    with open(path, "rb") as source:
        while block := source.read(1 << 20):
            crc = zlib.crc32(block, crc)
            size += len(block)
    return size, crc


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
