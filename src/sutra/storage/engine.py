"""The storage engine: LMDB with one writer thread and group commit.

Durability. Every write goes through a bounded queue to a single writer thread, which
takes everything queued, applies it in ONE write transaction and commits it with fsync
(LMDB's default `sync=True`). Only after the commit returns are the waiting callers
acknowledged, so an acknowledged write survives `kill -9` and power loss; grouping is what
makes that affordable (one fsync per group, not per write). When the queue is full the
caller gets ResourceExhausted at once: a write is refused, never dropped.

Learning. Re-learning a concept multiplies its strength by 1.02 (capped at MAX_STRENGTH,
10.0), keeps the larger confidence and replaces content and embedding; re-learning an
association keeps the larger confidence and sets the weight. A write that names an unknown
concept is refused (NotFound) before anything of it is applied.

Reads. Readers use LMDB read transactions (MVCC snapshots) and never wait for the writer:
a reader sees every write of a group commit or none of it, and a LearnBatch is never seen
half applied.

Access counts. Counting reads in the read path would turn every read into a write, so
reads add to an in-memory tally that the writer folds into the records with its next
commit, or after `access_flush_seconds` of idleness, and on shutdown. Reads report the
stored count plus the tally. A `kill -9` loses at most the last interval of counts: they
are statistics, not acknowledged writes.

Vectors are kept in LMDB (the source of truth) and in a VectorIndex that the writer
updates after each commit and that is rebuilt from the store when its persisted copy is
missing or older than the store.

Snapshot time. The time of the last completed snapshot is stored in the store's meta
(durably, before the snapshot is reported done) and read back on open, so GetStats and
the gauge the snapshot-too-old alert reads keep it across restarts and crashes.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import fcntl
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import lmdb
import numpy as np

from sutra.common.logging import log_event
from sutra.storage import layout
from sutra.storage.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    StorageError,
    Unavailable,
)
from sutra.storage.ids import InvalidId, concept_id_for, format_id, parse_id
from sutra.storage.layout import INCOMING, OUTGOING, ConceptRecord, EdgeRecord, edge_key
from sutra.storage.limits import DEFAULT_PATH_DEPTH as DEFAULT_PATH_DEPTH
from sutra.storage.limits import MAX_GET_CONCEPTS as MAX_GET_CONCEPTS
from sutra.storage.limits import MAX_PATH_DEPTH as MAX_PATH_DEPTH
from sutra.storage.limits import MAX_PATH_VISITED as MAX_PATH_VISITED
from sutra.storage.metrics import StorageMetrics
from sutra.storage.model import ASSOCIATION_TYPES, Stats
from sutra.storage.model import Concept as Concept  # re-exported: the engine's public names
from sutra.storage.reads import EngineReads
from sutra.storage.reads import Neighbor as Neighbor
from sutra.storage.shards import moves
from sutra.storage.snapshotting import EngineSnapshots

log = logging.getLogger("sutra.storage.engine")

MAX_STRENGTH = 10.0
STRENGTHEN = 1.02
DEFAULT_STRENGTH = 1.0
DEFAULT_CONFIDENCE = 1.0
DEFAULT_WEIGHT = 1.0
MAX_LABEL = 200  # characters of an association's label
INDEX_DIR = "index"
OWNER_LOCK = "server.lock"


@dataclass(frozen=True, slots=True)
class ConceptInput:
    id: bytes
    content: str
    embedding: np.ndarray | None
    strength: float | None
    confidence: float | None


@dataclass(frozen=True, slots=True)
class AssociationInput:
    source: bytes
    target: bytes
    type: int
    confidence: float
    weight: float
    label: str = ""


@dataclass(frozen=True, slots=True)
class WriteResult:
    concept_ids: list[str]
    associations: int
    sequence: int
    token: int = 0  # the log sequence that holds this write (replicated stores), else 0


@dataclass(frozen=True, slots=True)
class RecordCopy:
    """A concept exactly as a store holds it, to store it as it is on another shard."""

    id: bytes
    record: bytes  # layout.encode_concept
    vector: bytes  # float32 little-endian; b"" when none
    edges: Sequence[tuple[bytes, bytes]] = ()  # (edge key, edge value): its halves


# What a write does: learn (strengthen/merge), store copies exactly, delete concepts, or
# change the shard's place in the shard map (resharding: in the log, so followers follow).
OP_LEARN, OP_IMPORT, OP_DROP, OP_SHARD = 0, 1, 2, 3


@dataclass(slots=True)
class _Write:
    concepts: Sequence[ConceptInput]
    associations: Sequence[AssociationInput]
    batch: bool
    future: Future = field(default_factory=Future)
    op: int = OP_LEARN
    copies: Sequence[RecordCopy] = ()
    drops: Sequence[bytes] = ()
    state: bytes = b""  # OP_SHARD: the shard's new state (sutra.storage.shards.service)


@dataclass(slots=True)
class _Task:
    """A change of this store's own bookkeeping (not a write: never in the log), run by the
    writer thread in its next transaction: `run(txn)` is the future's result."""

    run: Callable[[lmdb.Transaction], object]
    future: Future = field(default_factory=Future)


@dataclass(slots=True)
class _Barrier:
    future: Future = field(default_factory=Future)


@dataclass(slots=True)
class _Replay:
    """Entries of the replicated log: (sequence, commit time, writes), applied in order."""

    entries: Sequence[tuple[int, float, Sequence[_Write]]]
    future: Future = field(default_factory=Future)


class MoveHook:
    """What the writer asks while this shard's concepts move to a new map (resharding)."""

    active: bool = False  # a move is in progress: mark the changes of moving concepts
    fenced: bool = False  # writes of moving concepts are refused (`refusal`) until the switch

    def moving(self, raw_id: bytes) -> bool:
        raise NotImplementedError

    def refusal(self, raw_id: bytes) -> StorageError:
        raise NotImplementedError

    def adopt(self, state: bytes) -> None:
        """Take the state of an OP_SHARD write (applied on the writer and its followers)."""
        raise NotImplementedError

    def check_write(self, concepts: Sequence[object], associations: Sequence[object]) -> None:
        """Refuse a client's write of concepts this shard does not own under its map now."""


class Replicator:
    """What the writer thread calls inside each commit when the store is replicated.

    `publish` appends the group's applied writes to the log as the entry after `applied`
    and returns the new last sequence (stored in the same transaction); raising aborts the
    transaction and fails every write of the group with that error.
    """

    def publish(self, writes: Sequence[_Write], when: float, applied: int) -> int:
        raise NotImplementedError


APPLIED_KEY = b"log_sequence"  # meta: the last log sequence applied to this store


_STOP = object()
# A replicated group commit costs one log append (~1 ms of CPU across the client and the
# log servers, whatever its size): under concurrent load the writer waits a little for the
# writes still on their way, so that one append carries them all (`_linger`).
LINGER_SECONDS = 0.002  # at most, per group
LINGER_GAP_SECONDS = 0.001  # stop once no write arrived for this long
LINGER_HISTORY = 16  # groups whose size estimates how many writes are in flight


def _owns_all(_raw_id: bytes) -> bool:
    return True


def _f32_bytes(vector: np.ndarray) -> np.ndarray | bytes:
    """The vector as stored (little-endian float32); a contiguous <f4 array as it is."""
    if vector.dtype == np.dtype("<f4") and vector.flags.c_contiguous:
        return vector  # LMDB copies from the buffer
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def _check_fraction(value: float, what: str) -> float:
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise InvalidArgument(f"{what} must be within [0, 1], got {value}")
    return float(value)


class Engine(EngineReads, EngineSnapshots):
    """One LMDB store, its writer thread and its vector index."""

    def __init__(
        self,
        path: Path,
        *,
        dimension: int = 384,
        queue_size: int = 10_000,
        map_size: int = 32 * 1024**3,
        max_content_bytes: int = 64 * 1024,
        max_batch: int = 10_000,
        max_group: int = 4096,
        max_readers: int = 126,
        access_flush_seconds: float = 1.0,
        hnsw_threshold: int = 20_000,
        metasync: bool = True,
        metrics: StorageMetrics | None = None,
        index_factory: Callable[..., object] | None = None,
    ) -> None:
        self.path = Path(path)
        self.dimension = dimension
        self.max_content_bytes = max_content_bytes
        self.max_batch = max_batch
        self.max_group = max_group
        self.access_flush_seconds = access_flush_seconds
        self.metrics = metrics or StorageMetrics()
        self._concept_writes = self.metrics.writes.labels("concept")
        self._association_writes = self.metrics.writes.labels("association")
        self.started = time.time()
        self.last_snapshot_time = 0.0  # read from the store on open
        self._snapshot_lock = threading.Lock()
        self._rejected = 0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._submit_lock = threading.Lock()
        self._closing = False
        self._closed = False
        self._access: dict[bytes, int] = {}
        self._access_lock = threading.Lock()
        self.replicator: Replicator | None = None  # set before the first write when replicated
        self._group_sizes: collections.deque[int] = collections.deque(maxlen=LINGER_HISTORY)
        # One shard of several (sutra.storage.shards): does this store own a concept id? Only
        # an owned endpoint must exist, and only the owned half of an association is stored.
        self.owns: Callable[[bytes], bool] | None = None
        self.moves: MoveHook | None = None  # set while the shard's concepts move (resharding)
        self._applied_changed = threading.Condition()

        self.path.mkdir(parents=True, exist_ok=True)
        self._lock_file = self._take_ownership()
        self.env = lmdb.open(
            str(self.path),
            map_size=map_size,
            max_dbs=layout.MAX_DBS,
            max_readers=max_readers,
            subdir=True,
            sync=True,
            # Off only for a replicated store: the log holds every commit durably, so an
            # OS crash that undoes the last commit here is repaired by replaying the log.
            metasync=metasync,
            writemap=False,
            map_async=False,
            readahead=False,
        )
        try:
            self.dbs = layout.open_databases(self.env, create=True)
            # Concepts written while they move to another shard: id -> write sequence.
            self.changed_db = self.env.open_db(layout.DB_CHANGED, create=True)
            self._counts = self._prepare_meta()
            with self.env.begin() as txn:
                self.last_snapshot_time = layout.read_last_snapshot(txn, self.dbs.meta)
                self.applied = layout.unpack_u64(txn.get(APPLIED_KEY, db=self.dbs.meta))
            self.index = self._open_index(index_factory, hnsw_threshold)
        except BaseException:
            self.env.close()
            self._lock_file.close()
            raise
        self.metrics.bind(
            queue_depth=self._queue.qsize,
            counts=lambda: self._counts,
            store_bytes=self.store_bytes,
            queue_capacity=queue_size,
            map_size=map_size,
            data_path=self.path,
        )
        self.metrics.last_snapshot.set(self.last_snapshot_time)
        self._writer = threading.Thread(target=self._run_writer, name="storage-writer", daemon=True)
        self._writer.start()

    # ---------------------------------------------------------------- setup

    def _take_ownership(self) -> IO[bytes]:
        """Hold an exclusive lock on the directory: one store, one writer process.

        LMDB itself would let a second process open the store and write; two servers on one
        volume (a stuck pod and its replacement) would then both acknowledge writes.
        """
        lock_file = open(self.path / OWNER_LOCK, "ab")  # noqa: SIM115 (held while open)
        try:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock_file.close()
            raise FailedPrecondition(
                f"another storage server is already serving {self.path}"
            ) from None
        return lock_file

    def _prepare_meta(self) -> dict[str, int]:
        with self.env.begin(write=True) as txn:
            meta = layout.read_meta(txn, self.dbs.meta)
            if meta["format"] not in (0, layout.FORMAT_VERSION):
                raise FailedPrecondition(
                    f"store format {meta['format']} is not supported "
                    f"(this server reads format {layout.FORMAT_VERSION})"
                )
            if meta["vectors"] and meta["dimension"] != self.dimension:
                raise FailedPrecondition(
                    f"the store holds {meta['dimension']}-dimension vectors but "
                    f"SUTRA_VECTOR_DIMENSION is {self.dimension}"
                )
            meta["format"] = layout.FORMAT_VERSION
            meta["dimension"] = self.dimension
            layout.write_meta(txn, self.dbs.meta, meta)
        return meta

    def _open_index(self, factory: Callable[..., object] | None, hnsw_threshold: int) -> object:
        if factory is None:
            from sutra.storage.vectors import VectorIndex

            factory = VectorIndex
        index = factory(self.dimension, self.path / INDEX_DIR, hnsw_threshold=hnsw_threshold)
        index.open(self._all_vectors, self._counts["sequence"])  # type: ignore[attr-defined]
        return index

    def _all_vectors(self) -> Iterator[tuple[bytes, np.ndarray]]:
        with self.env.begin() as txn:
            for key, value in txn.cursor(db=self.dbs.vectors):
                yield bytes(key), np.frombuffer(value, dtype="<f4").copy()

    # ------------------------------------------------------------ validation

    def make_concept(
        self,
        *,
        concept_id: str | None,
        content: str,
        embedding: Sequence[float] | np.ndarray | None = None,
        strength: float | None = None,
        confidence: float | None = None,
        vector_checked: bool = False,
    ) -> ConceptInput:
        """Check one concept and derive its id; InvalidArgument names what is wrong.

        ``vector_checked``: the caller already validated ``embedding`` with
        `check_vectors` (a float32 vector of the right size, finite), so it is taken as is.
        """
        if not content or content.isspace():
            raise InvalidArgument("content must not be empty")
        # UTF-8 takes at most 4 bytes per character: short content needs no encoding here.
        if len(content) * 4 > self.max_content_bytes:
            size = len(content.encode("utf-8"))
            if size > self.max_content_bytes:
                raise InvalidArgument(
                    f"content is {size} bytes, larger than the limit of "
                    f"{self.max_content_bytes} bytes"
                )
        try:
            raw_id = parse_id(concept_id) if concept_id else parse_id(concept_id_for(content))
        except InvalidId as exc:
            raise InvalidArgument(str(exc)) from None
        if vector_checked or embedding is None:
            vector = embedding  # type: ignore[assignment]
        else:
            vector = self.check_vector(embedding, "embedding", allow_empty=True)
        if strength is not None and (not math.isfinite(strength) or strength < 0):
            raise InvalidArgument(f"strength must be a finite number >= 0, got {strength}")
        if confidence is not None:
            confidence = _check_fraction(confidence, "confidence")
        return ConceptInput(raw_id, content, vector, strength, confidence)

    def make_association(
        self,
        *,
        source_id: str,
        target_id: str,
        type: int,
        confidence: float | None = None,
        weight: float | None = None,
        label: str = "",
    ) -> AssociationInput:
        try:
            source = parse_id(source_id, "source_id")
            target = parse_id(target_id, "target_id")
        except InvalidId as exc:
            raise InvalidArgument(str(exc)) from None
        if source == target:
            raise InvalidArgument(f"an association needs two concepts, got {source_id} twice")
        if type not in range(len(ASSOCIATION_TYPES)):
            raise InvalidArgument(f"association type must be 0..4, got {type}")
        conf = (
            DEFAULT_CONFIDENCE if confidence is None else _check_fraction(confidence, "confidence")
        )
        if weight is None:
            weight = DEFAULT_WEIGHT
        elif not math.isfinite(weight) or weight < 0:
            raise InvalidArgument(f"weight must be a finite number >= 0, got {weight}")
        if len(label) > MAX_LABEL:
            raise InvalidArgument(f"label must be at most {MAX_LABEL} characters, got {len(label)}")
        return AssociationInput(source, target, int(type), conf, float(weight), label)

    def check_vector(
        self, values: Sequence[float] | np.ndarray | None, what: str, *, allow_empty: bool = False
    ) -> np.ndarray | None:
        if values is None or len(values) == 0:
            if allow_empty:
                return None
            raise InvalidArgument(f"{what} must not be empty")
        vector = np.ascontiguousarray(values, dtype="<f4").reshape(-1)
        if vector.shape[0] != self.dimension:
            raise InvalidArgument(
                f"{what} has the wrong size: expected {self.dimension} dimensions, "
                f"got {vector.shape[0]}"
            )
        if not np.isfinite(vector).all():
            raise InvalidArgument(f"{what} contains NaN or infinite values")
        return vector

    def check_vectors(
        self, vectors: Sequence[np.ndarray | None], what: str = "embedding"
    ) -> list[np.ndarray | None]:
        """`check_vector` for many vectors at once (one conversion, one finiteness check).

        Each entry is None (no vector) or a one-dimensional array; the result holds None or a
        row of one contiguous little-endian float32 block, with the messages of
        `check_vector` for the first bad vector.
        """
        present = [v for v in vectors if v is not None and len(v)]
        if not present:
            return [None] * len(vectors)
        dimension = self.dimension
        for vector in present:
            if vector.ndim != 1 or vector.shape[0] != dimension:
                self.check_vector(vector, what)  # raises the precise message
        block = np.array(present, dtype="<f4")
        if not np.isfinite(block).all():
            raise InvalidArgument(f"{what} contains NaN or infinite values")
        rows = iter(block)
        return [next(rows) if v is not None and len(v) else None for v in vectors]

    # ---------------------------------------------------------------- writes

    def submit(
        self,
        concepts: Sequence[ConceptInput],
        associations: Sequence[AssociationInput] = (),
        *,
        batch: bool = False,
    ) -> Future:
        """Queue a write; the future resolves to a WriteResult once it is committed."""
        if batch and not concepts and not associations:
            raise InvalidArgument("a batch needs at least one concept or association")
        if len(concepts) + len(associations) > self.max_batch:
            raise InvalidArgument(
                f"a batch holds at most {self.max_batch} concepts and associations, "
                f"got {len(concepts) + len(associations)}"
            )
        return self._enqueue(_Write(concepts, associations, batch))

    def write(
        self,
        concepts: Sequence[ConceptInput],
        associations: Sequence[AssociationInput] = (),
        *,
        batch: bool = False,
    ) -> WriteResult:
        return self.submit(concepts, associations, batch=batch).result()

    def submit_copies(self, copies: Sequence[RecordCopy]) -> Future:
        """Store concepts exactly as another shard held them (resharding); a logged write."""
        if len(copies) > self.max_batch:
            raise InvalidArgument(f"at most {self.max_batch} copies per write, got {len(copies)}")
        for copy in copies:
            layout.check_copy(copy, self.dimension)
        return self._enqueue(_Write((), (), False, op=OP_IMPORT, copies=copies))

    def submit_drop(self, ids: Sequence[bytes]) -> Future:
        """Delete concepts with their vectors and association halves; a logged write."""
        return self._enqueue(_Write((), (), False, op=OP_DROP, drops=ids))

    def submit_shard_state(self, state: bytes) -> Future:
        """Change the shard's state in write order (a logged write, so followers follow)."""
        return self._enqueue(_Write((), (), False, op=OP_SHARD, state=state))

    def run_task(self, run: Callable[[lmdb.Transaction], object]) -> Future:
        """Run `run(txn)` in the writer's next transaction (this store's own bookkeeping)."""
        return self._enqueue(_Task(run))

    def flush(self) -> int:
        """Wait until everything queued before this call is committed; the sequence."""
        self._enqueue(_Barrier()).result()
        return self.sequence

    @property
    def sequence(self) -> int:
        """The sequence of the last committed write."""
        return self._counts["sequence"]

    def submit_replay(self, entries: Sequence[tuple[int, float, Sequence[_Write]]]) -> Future:
        """Queue log entries to apply in one transaction that also stores the last sequence.

        The same `_apply` as the writer's, with the writer's commit time: a follower's store
        is then byte for byte what the writer stored (access counts aside).
        """
        return self._enqueue(_Replay(entries))

    def wait_applied(self, sequence: int, timeout: float) -> bool:
        """Wait until the log is applied up to `sequence`; False after `timeout` seconds."""
        with self._applied_changed:
            return self._applied_changed.wait_for(lambda: self.applied >= sequence, timeout)

    def _enqueue(self, item: _Write | _Barrier | _Replay | _Task) -> Future:
        with self._submit_lock:
            if self._closing:
                raise Unavailable("the storage server is shutting down")
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self._rejected += 1
                self.metrics.rejected.labels("queue_full").inc()
                raise ResourceExhausted(
                    f"the write queue is full ({self._queue.maxsize} writes waiting); retry later"
                ) from None
        return item.future

    def _run_writer(self) -> None:
        try:
            self._writer_loop()
        except BaseException as exc:
            # Without its writer the server would accept writes it can never acknowledge:
            # exit so that the supervisor restarts it on the durable store.
            log_event(log, "writer_crashed", logging.CRITICAL, error=repr(exc))
            os._exit(70)

    def _writer_loop(self) -> None:
        stopping = False
        while True:
            items: list[object] = []
            with contextlib.suppress(queue.Empty):
                items.append(self._queue.get(timeout=self.access_flush_seconds))
            while len(items) < self.max_group:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if self.replicator is not None and items:
                self._linger(items)
            if _STOP in items:
                stopping = True
                items = [item for item in items if item is not _STOP]
            with self._access_lock:
                access, self._access = self._access, {}
            if items or access:
                self._commit(items, access)  # type: ignore[arg-type]
            if stopping and self._queue.empty():
                return

    def _linger(self, items: list[object]) -> None:
        """Wait for more writes while they keep coming, up to as many as recent groups held.

        With one client (groups of one) it never waits; when every write in flight is
        already in the group it does not wait either.
        """
        writes = sum(isinstance(item, _Write) for item in items)
        target = min(self.max_group, max(self._group_sizes, default=0))
        deadline = time.monotonic() + LINGER_SECONDS
        while 0 < writes < target and len(items) < self.max_group:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                item = self._queue.get(timeout=min(remaining, LINGER_GAP_SECONDS))
            except queue.Empty:
                break
            items.append(item)
            writes += isinstance(item, _Write)
            if not isinstance(item, _Write | _Barrier):
                break  # a log replay or the shutdown: commit what is here
        self._group_sizes.append(writes)

    def _commit(
        self, items: list[_Write | _Barrier | _Replay | _Task], access: dict[bytes, int]
    ) -> None:
        started = time.perf_counter()
        outcomes: list[object] = []
        vectors: list[tuple[bytes, np.ndarray | None]] = []  # None: the vector was removed
        concepts_written = associations_written = batches = 0
        applied = self.applied
        now = time.time()
        try:
            with self.env.begin(write=True) as txn:
                # The writer is the only one to change the counters, and `_counts` holds
                # what its last commit stored: no need to read them back.
                before = self._counts
                meta = dict(before)
                for item in items:
                    if isinstance(item, _Barrier):
                        outcomes.append(None)
                        continue
                    if isinstance(item, _Replay):
                        applied = self._replay(txn, item, meta, vectors, applied)
                        outcomes.append(None)
                        continue
                    if isinstance(item, _Task):
                        outcomes.append(item.run(txn))
                        continue
                    try:
                        outcomes.append(self._apply(txn, item, meta, vectors, now))
                    except StorageError as exc:
                        outcomes.append(exc)
                        continue
                    concepts_written += len(item.concepts)
                    associations_written += len(item.associations)
                    batches += item.batch
                applied = self._publish(txn, items, outcomes, now, applied)
                self._fold_access(txn, access)
                meta["writes"] += concepts_written + associations_written
                meta["batches"] += batches
                meta["commits"] += 1
                layout.write_meta(txn, self.dbs.meta, meta, unchanged=before)
        except StorageError as exc:  # the log refused the group (raised by `_publish`)
            for item in items:
                if isinstance(item, _Write):
                    item.future.set_exception(exc)
            rest = [item for item in items if not isinstance(item, _Write)]
            if rest:  # log entries to apply and barriers do not depend on the refused writes
                self._commit(rest, access)
            else:
                with self._access_lock:
                    for key, count in access.items():
                        self._access[key] = self._access.get(key, 0) + count
            return
        except Exception as exc:
            if applied != self.applied:  # in the log but not in the store: restart, catch up
                log_event(log, "apply_after_append_failed", logging.CRITICAL, error=repr(exc))
                os._exit(70)
            # Nothing of this group is stored. Retry its writes one by one so that a single
            # write that cannot be stored (say, a batch that fills the map) fails alone.
            if len(items) > 1:
                log_event(log, "group_commit_failed", logging.WARNING, error=str(exc))
                self._commit(items[:1], access)
                for item in items[1:]:
                    self._commit([item], {})
                return
            if isinstance(exc, lmdb.MapFullError):
                error: StorageError = ResourceExhausted(
                    "the store reached its map size (SUTRA_STORAGE_MAP_SIZE); nothing was written"
                )
            else:
                error = StorageError(f"commit failed, nothing was written: {exc}")
            log_event(log, "commit_failed", logging.ERROR, error=str(exc), writes=len(items))
            with self._access_lock:
                for key, count in access.items():
                    self._access[key] = self._access.get(key, 0) + count
            for item in items:
                item.future.set_exception(error)
            return
        sequence_moved = meta["sequence"] != self._counts["sequence"]
        self._counts = meta
        if applied != self.applied:
            with self._applied_changed:
                self.applied = applied
                self._applied_changed.notify_all()
            outcomes = [
                dataclasses.replace(o, token=applied) if isinstance(o, WriteResult) else o
                for o in outcomes
            ]
        # The index learns every new sequence, even without vectors, so that the copy it
        # saves on close matches the store and the next start loads it instead of rebuilding.
        if vectors or sequence_moved:
            try:
                self._update_index(vectors, meta["sequence"])
            except Exception as exc:  # the store is the truth; the index is rebuilt on restart
                log_event(log, "index_add_failed", logging.ERROR, error=str(exc))
        elapsed = time.perf_counter() - started
        self.metrics.commit_seconds.observe(elapsed)
        self.metrics.commit_size.observe(len(items))
        if concepts_written:
            self._concept_writes.inc(concepts_written)
        if associations_written:
            self._association_writes.inc(associations_written)
        if batches:
            self.metrics.batches.inc(batches)
        for item, outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, StorageError):
                item.future.set_exception(outcome)
            else:
                item.future.set_result(outcome)

    def _update_index(self, changes: list[tuple[bytes, np.ndarray | None]], sequence: int) -> None:
        """The commit's vectors added and removed, in the order the writes made them."""
        index = self.index
        if not changes:
            index.add([], sequence)  # type: ignore[attr-defined]
        start = 0
        for end in range(1, len(changes) + 1):
            if end < len(changes) and (changes[end][1] is None) == (changes[start][1] is None):
                continue
            run = changes[start:end]
            if run[0][1] is None:
                index.remove([key for key, _ in run], sequence)  # type: ignore[attr-defined]
            else:
                index.add(run, sequence)  # type: ignore[attr-defined]
            start = end

    def _publish(
        self,
        txn: lmdb.Transaction,
        items: Sequence[object],
        outcomes: Sequence[object],
        now: float,
        applied: int,
    ) -> int:
        """Append the group's applied writes to the log (replicated stores); the new sequence.

        Stored in this transaction: the store and its log sequence move together.
        """
        if self.replicator is None:
            return applied
        writes = [
            item
            for item, outcome in zip(items, outcomes, strict=True)
            if isinstance(item, _Write) and isinstance(outcome, WriteResult)
        ]
        if not writes:
            return applied
        applied = self.replicator.publish(writes, now, applied)
        txn.put(APPLIED_KEY, layout.pack_u64(applied), db=self.dbs.meta)
        return applied

    def _replay(
        self,
        txn: lmdb.Transaction,
        replay: _Replay,
        meta: dict[str, int],
        vectors: list[tuple[bytes, np.ndarray]],
        applied: int,
    ) -> int:
        """Apply log entries after `applied` (earlier ones are already in: exactly once)."""
        for sequence, when, writes in replay.entries:
            if sequence <= applied:
                continue
            for write in writes:
                try:
                    self._apply(txn, write, meta, vectors, when, live=False)
                except StorageError as exc:  # the writer applied it: the stores diverged
                    log_event(log, "replay_refused", logging.ERROR, seq=sequence, error=str(exc))
                    continue
                meta["writes"] += len(write.concepts) + len(write.associations)
                meta["batches"] += write.batch
            applied = sequence
        txn.put(APPLIED_KEY, layout.pack_u64(applied), db=self.dbs.meta)
        return applied

    def _apply(
        self,
        txn: lmdb.Transaction,
        write: _Write,
        meta: dict[str, int],
        vectors: list[tuple[bytes, np.ndarray | None]],
        now: float | None = None,
        *,
        live: bool = True,
    ) -> WriteResult:
        """Apply one write; every check comes before the first change, so a refused write
        leaves the transaction as it found it. `live`: a client's write (not a log replay),
        which a move in progress marks or refuses."""
        op = getattr(write, "op", OP_LEARN)  # log writes of older entries have no op
        if op == OP_IMPORT:
            moves.apply_copies(self, txn, write.copies, meta, vectors)
        elif op == OP_DROP:
            moves.apply_drop(self, txn, write.drops, meta, vectors)
        elif op == OP_SHARD:
            if self.moves is None:
                raise FailedPrecondition("this store is not a shard: it has no shard state")
            self.moves.adopt(write.state)
        else:
            return self._apply_learn(txn, write, meta, vectors, now, live)
        meta["sequence"] += 1
        return WriteResult([], 0, meta["sequence"])

    def _apply_learn(
        self,
        txn: lmdb.Transaction,
        write: _Write,
        meta: dict[str, int],
        vectors: list[tuple[bytes, np.ndarray | None]],
        now: float | None,
        live: bool,
    ) -> WriteResult:
        concepts_db, vectors_db = self.dbs.concepts, self.dbs.vectors
        owns = self.owns or _owns_all
        hook = self.moves
        if live and hook is not None:  # here, not before queueing: a switch may come between
            hook.check_write(write.concepts, write.associations)
        if write.associations:
            in_write = {c.id for c in write.concepts}
            for assoc in write.associations:
                for end, what in ((assoc.source, "source"), (assoc.target, "target")):
                    if owns(end) and end not in in_write and txn.get(end, db=concepts_db) is None:
                        raise NotFound(f"{what} concept {format_id(end)} does not exist")
        if hook is not None and hook.active:  # followers mark too, for a failover mid-move
            moves.mark_changed(self, txn, write, meta["sequence"] + 1, hook, owns, refuse=live)
        now = time.time() if now is None else now
        put = txn.put
        encode = layout.encode_concept
        for concept in write.concepts:
            key, vector = concept.id, concept.embedding
            # A new concept is one LMDB call: insert unless the id exists (overwrite=False).
            new = put(
                key,
                encode(
                    DEFAULT_STRENGTH if concept.strength is None else concept.strength,
                    DEFAULT_CONFIDENCE if concept.confidence is None else concept.confidence,
                    now,
                    now,
                    0,
                    0 if vector is None else layout.FLAG_HAS_VECTOR,
                    concept.content,
                ),
                db=concepts_db,
                overwrite=False,
            )
            if new:
                meta["concepts"] += 1
                if vector is not None:
                    meta["vectors"] += 1
            else:
                record = ConceptRecord.decode(txn.get(key, db=concepts_db))
                record.strength = min(record.strength * STRENGTHEN, MAX_STRENGTH)
                if concept.confidence is not None:
                    record.confidence = max(record.confidence, concept.confidence)
                record.content = concept.content
                record.updated_at = now
                if vector is not None:
                    if not record.has_vector:
                        meta["vectors"] += 1
                    record.flags |= layout.FLAG_HAS_VECTOR
                put(key, record.encode(), db=concepts_db)
            if vector is not None:
                put(key, _f32_bytes(vector), db=vectors_db)
                vectors.append((key, vector))
        for assoc in write.associations:
            out_key = edge_key(assoc.source, OUTGOING, assoc.target, assoc.type)
            in_key = edge_key(assoc.target, INCOMING, assoc.source, assoc.type)
            has_out, has_in = owns(assoc.source), owns(assoc.target)
            raw = txn.get(out_key if has_out else in_key, db=self.dbs.edges)
            confidence, label = assoc.confidence, assoc.label
            if raw is None:
                meta["associations"] += has_out  # counted once: on the source's shard
            else:
                stored = EdgeRecord.decode(raw)
                confidence = max(confidence, stored.confidence)
                label = label or stored.label  # a write without a label keeps the stored one
            value = EdgeRecord(confidence, assoc.weight, now, label).encode()
            if has_out:
                txn.put(out_key, value, db=self.dbs.edges)
            if has_in:
                txn.put(in_key, value, db=self.dbs.edges)
        meta["sequence"] += 1
        return WriteResult(
            [format_id(c.id) for c in write.concepts], len(write.associations), meta["sequence"]
        )

    def _fold_access(self, txn: lmdb.Transaction, access: dict[bytes, int]) -> None:
        for key, count in access.items():
            raw = txn.get(key, db=self.dbs.concepts)
            if raw is not None:
                record = ConceptRecord.decode(raw)
                record.access_count += count
                txn.put(key, record.encode(), db=self.dbs.concepts)

    def store_bytes(self) -> int:
        info = self.env.info()
        return int((info["last_pgno"] + 1) * self.env.stat()["psize"])

    def stats(self) -> Stats:
        with self.env.begin() as txn:
            meta = layout.read_meta(txn, self.dbs.meta)
        return Stats(
            concepts=meta["concepts"],
            associations=meta["associations"],
            vectors=meta["vectors"],
            writes=meta["writes"],
            batches=meta["batches"],
            commits=meta["commits"],
            pending=self._queue.qsize(),
            store_bytes=self.store_bytes(),
            uptime_seconds=time.time() - self.started,
            last_snapshot_time=self.last_snapshot_time,
            sequence=meta["sequence"],
            dimension=self.dimension,
            rejected=self._rejected,
        )

    # -------------------------------------------------------------- shutdown

    def close(self) -> None:
        """Refuse new writes, commit everything queued, persist the index, close the store."""
        if self._closed:
            return
        with self._submit_lock:
            self._closing = True
        self._queue.put(_STOP)  # blocking put: the writer is draining the queue
        self._writer.join()
        try:
            self.index.close()  # type: ignore[attr-defined]
        except Exception as exc:
            log_event(log, "index_close_failed", logging.ERROR, error=str(exc))
        self.env.sync(True)
        self.env.close()
        self._lock_file.close()
        self._closed = True

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
