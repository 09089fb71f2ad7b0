"""The store's reads: concepts, neighbours, paths between concepts and vector search.

Part of `Engine` (a mixin): readers use LMDB read transactions (MVCC snapshots) and never
wait for the writer; a read adds to the in-memory access tally the writer folds in later.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import lmdb
import numpy as np

from sutra.storage import layout
from sutra.storage.bfs import shortest_path
from sutra.storage.errors import (
    InvalidArgument,
    NotFound,
)
from sutra.storage.ids import InvalidId, format_id, parse_id
from sutra.storage.layout import INCOMING, OUTGOING, ConceptRecord, EdgeRecord
from sutra.storage.limits import (
    DEFAULT_PATH_DEPTH,
    MAX_EF,
    MAX_GET_CONCEPTS,
    MAX_K,
    MAX_PATH_DEPTH,
    MAX_PATH_VISITED,
)
from sutra.storage.model import ASSOCIATION_TYPES, Concept, Edge


@dataclass(frozen=True, slots=True)
class Neighbor:
    concept_id: str
    type: int
    confidence: float
    weight: float
    direction: int  # layout.OUTGOING or layout.INCOMING
    label: str = ""


class EngineReads:
    """The read half of `Engine`; it uses the engine's store, index, tally and metrics."""

    def _parse(self, concept_id: str, what: str = "concept_id") -> bytes:
        try:
            return parse_id(concept_id, what)
        except InvalidId as exc:
            raise InvalidArgument(str(exc)) from None

    def _concept(
        self, txn: lmdb.Transaction, raw_id: bytes, *, embedding: bool, extra_access: int = 0
    ) -> Concept | None:
        raw = txn.get(raw_id, db=self.dbs.concepts)
        if raw is None:
            return None
        record = ConceptRecord.decode(raw)
        vector = None
        if embedding and record.has_vector:
            stored = txn.get(raw_id, db=self.dbs.vectors)
            if stored is not None:
                vector = np.frombuffer(stored, dtype="<f4").copy()
        with self._access_lock:
            pending = self._access.get(raw_id, 0)
        return Concept(
            id=format_id(raw_id),
            content=record.content,
            embedding=vector,
            strength=record.strength,
            confidence=record.confidence,
            created_at=record.created_at,
            updated_at=record.updated_at,
            access_count=record.access_count + pending + extra_access,
        )

    def get_concept(self, concept_id: str, *, embedding: bool = True) -> Concept | None:
        """The concept, counting this read in its access count; None when unknown."""
        raw_id = self._parse(concept_id)
        with self.env.begin() as txn:
            concept = self._concept(txn, raw_id, embedding=embedding, extra_access=1)
        if concept is not None:
            with self._access_lock:
                self._access[raw_id] = self._access.get(raw_id, 0) + 1
        return concept

    def get_concepts(
        self, concept_ids: Sequence[str], *, embedding: bool = False
    ) -> list[Concept | None]:
        """Each concept of `concept_ids` (None when unknown), in order, from ONE read transaction.

        Every id is checked before anything is read; each concept found counts as read once
        per time it is asked for, as `get_concept` counts it.
        """
        if len(concept_ids) > MAX_GET_CONCEPTS:
            raise InvalidArgument(
                f"concept_ids holds {len(concept_ids)} ids, more than the limit of "
                f"{MAX_GET_CONCEPTS} per request"
            )
        raw_ids = [self._parse(cid, f"concept_ids[{i}]") for i, cid in enumerate(concept_ids)]
        asked: dict[bytes, int] = {}  # reads of each id in this request so far
        found: list[Concept | None] = []
        with self.env.begin() as txn:
            for raw_id in raw_ids:
                extra = asked.get(raw_id, 0) + 1
                concept = self._concept(txn, raw_id, embedding=embedding, extra_access=extra)
                if concept is not None:
                    asked[raw_id] = extra
                found.append(concept)
        if asked:
            with self._access_lock:
                for raw_id, count in asked.items():
                    self._access[raw_id] = self._access.get(raw_id, 0) + count
        return found

    def _edges_of(
        self, txn: lmdb.Transaction, node: bytes, direction: int = 0
    ) -> Iterator[tuple[bytes, int, int, EdgeRecord]]:
        """(other, direction, type, record) of every edge stored under `node`."""
        prefix = node + bytes((direction,)) if direction else node
        cursor = txn.cursor(db=self.dbs.edges)
        if not cursor.set_range(prefix):
            return
        for key, value in cursor:
            if not key.startswith(prefix):
                break
            _, edge_dir, other, kind = layout.split_edge_key(key)
            yield other, edge_dir, kind, EdgeRecord.decode(value)

    def neighbors(
        self,
        concept_id: str,
        *,
        direction: int = 0,
        types: Iterable[int] = (),
        limit: int = 0,
    ) -> list[Neighbor]:
        raw_id = self._parse(concept_id)
        if direction not in (0, OUTGOING, INCOMING):
            raise InvalidArgument(f"direction must be 0, 1 or 2, got {direction}")
        if limit < 0:
            raise InvalidArgument(f"limit must be >= 0, got {limit}")
        wanted = set(types)
        if any(t not in range(len(ASSOCIATION_TYPES)) for t in wanted):
            raise InvalidArgument(f"association types must be 0..4, got {sorted(wanted)}")
        found: list[Neighbor] = []
        with self.env.begin() as txn:
            if txn.get(raw_id, db=self.dbs.concepts) is None:
                raise NotFound(f"concept {format_id(raw_id)} does not exist")
            for other, edge_dir, kind, record in self._edges_of(txn, raw_id, direction):
                if wanted and kind not in wanted:
                    continue
                found.append(
                    Neighbor(
                        format_id(other),
                        kind,
                        record.confidence,
                        record.weight,
                        edge_dir,
                        record.label,
                    )
                )
                if limit and len(found) >= limit:
                    break
        return found

    def find_path(
        self, start_id: str, end_id: str, *, max_depth: int = 0, directed: bool = False
    ) -> tuple[list[Concept], list[Edge]] | None:
        """Shortest path by bidirectional BFS within one read transaction; None if none."""
        start = self._parse(start_id, "start_id")
        end = self._parse(end_id, "end_id")
        if max_depth < 0 or max_depth > MAX_PATH_DEPTH:
            raise InvalidArgument(f"max_depth must be within 0..{MAX_PATH_DEPTH}, got {max_depth}")
        depth_limit = max_depth or DEFAULT_PATH_DEPTH
        with self.env.begin() as txn:
            for raw, what in ((start, "start"), (end, "end")):
                if txn.get(raw, db=self.dbs.concepts) is None:
                    raise NotFound(f"{what} concept {format_id(raw)} does not exist")
            nodes = self._bidirectional_bfs(txn, start, end, depth_limit, directed)
            if nodes is None:
                return None
            concepts = [self._concept(txn, n, embedding=False) for n in nodes]
            edges = [self._best_edge(txn, a, b, directed) for a, b in itertools.pairwise(nodes)]
        return [c for c in concepts if c is not None], edges

    def _step(
        self, txn: lmdb.Transaction, node: bytes, forward: bool, directed: bool
    ) -> Iterator[bytes]:
        direction = (OUTGOING if forward else INCOMING) if directed else 0
        for other, _, _, _ in self._edges_of(txn, node, direction):
            yield other

    def _bidirectional_bfs(
        self, txn: lmdb.Transaction, start: bytes, end: bytes, depth_limit: int, directed: bool
    ) -> list[bytes] | None:
        def expand(frontier: list[bytes], forward: bool) -> dict[bytes, Iterator[bytes]]:
            return {node: self._step(txn, node, forward, directed) for node in frontier}

        return shortest_path(start, end, depth_limit, expand, MAX_PATH_VISITED)

    def _best_edge(self, txn: lmdb.Transaction, a: bytes, b: bytes, directed: bool) -> Edge:
        """The most confident association joining a and b (a -> b first if directed)."""
        best: Edge | None = None
        for other, edge_dir, kind, record in self._edges_of(txn, a, OUTGOING if directed else 0):
            if other != b:
                continue
            source, target = (a, b) if edge_dir == OUTGOING else (b, a)
            candidate = Edge(
                format_id(source), format_id(target), kind, record.confidence, record.weight
            )
            if best is None or candidate.confidence > best.confidence:
                best = candidate
        assert best is not None, "a path edge must exist in the transaction that found it"
        return best

    def search(
        self, query: Sequence[float] | np.ndarray, k: int, ef_search: int | None = None
    ) -> list[tuple[str, float]]:
        if k <= 0 or k > MAX_K:
            raise InvalidArgument(f"k must be within 1..{MAX_K}, got {k}")
        if ef_search is not None and (ef_search <= 0 or ef_search > MAX_EF):
            raise InvalidArgument(f"ef_search must be within 1..{MAX_EF}, got {ef_search}")
        vector = self.check_vector(query, "query_vector")
        assert vector is not None
        # Cosine similarity ignores length, so the query is scaled to unit length first, in
        # float64: a vector of tiny (subnormal) float32 values has a direction too, and its
        # float32 norm would underflow to zero.
        exact = vector.astype(np.float64)
        norm = float(np.linalg.norm(exact))
        if not norm > 0.0:
            raise InvalidArgument("query_vector must not be all zeros")
        vector = (exact / norm).astype(np.float32)
        started = time.perf_counter()
        hits = self.index.search(vector, k, ef_search)  # type: ignore[attr-defined]
        self.metrics.search_seconds.observe(time.perf_counter() - started)
        return [(format_id(key), float(score)) for key, score in hits]
