"""A blocking Python client for the storage server.

One gRPC channel (with keepalive) per client, a deadline on every call, plain dataclasses
instead of protobufs, and server errors raised as `sutra.storage.errors` exceptions that
carry the server's message.

Retries. Only calls that are safe to repeat are retried, with exponential backoff and
jitter, and only on UNAVAILABLE (the server was not reached or is restarting):
GetConcept, GetConcepts, GetNeighbors, FindPath, VectorSearch, GetStats and Flush (reads and a
barrier); LearnAssociation (an upsert: it keeps the larger confidence and sets the
weight, so applying it twice is applying it once); and LearnConcept with an explicit
concept id (an upsert of the same record; a repeat may strengthen the concept one more
1.02 step, which is the only visible effect). LearnConcept without an id, LearnBatch
and Snapshot are never retried: the caller decides. RESOURCE_EXHAUSTED (the write queue
is full) is raised at once so that the caller can shed load.

Deadlines. `bounded(deadline)` gives a view of the client (same channel) whose every call,
retries included, ends by that time: a service answering a request with a deadline makes
no storage call that outlives it. Running out of it raises `CallerDeadlineExceeded`.
"""

from __future__ import annotations

import copy
import pathlib
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any, TypeVar

import grpc
import numpy as np

from sutra.common import tracing
from sutra.storage import routing
from sutra.storage.errors import (
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    StorageError,
    Unavailable,
    error_for,
)
from sutra.storage.ids import concept_id_for
from sutra.storage.model import (
    AssociationType,
    Concept,
    Edge,
    SnapshotInfo,
    Stats,
    from_message,
)
from sutra.storage.v1 import storage_pb2 as pb
from sutra.storage.v1 import storage_pb2_grpc as pb_grpc

__all__ = [
    "MAX_GET_CONCEPTS",
    "AssociationInput",
    "AssociationType",
    "BatchResult",
    "CallerDeadlineExceeded",
    "Concept",
    "ConceptInput",
    "DeadlineExceeded",
    "Direction",
    "Edge",
    "InvalidArgument",
    "Learned",
    "Neighbor",
    "NotFound",
    "Path",
    "ResourceExhausted",
    "RetryPolicy",
    "SearchHit",
    "SnapshotInfo",
    "Stats",
    "StorageClient",
    "StorageError",
    "Unavailable",
    "Vector",
    "channel_options",
    "concept_from_pb",
    "concepts_from_pb",
    "neighbor_from_pb",
    "stats_from_pb",
    "vector_to_bytes",
    "vector_to_pb",
]

T = TypeVar("T")
MAX_GET_CONCEPTS = 1_000  # ids per GetConcepts request (the server's limit)
Vector = Sequence[float] | np.ndarray


class Direction(IntEnum):
    BOTH = 0
    OUTGOING = 1
    INCOMING = 2


@dataclass(frozen=True)
class Neighbor:
    concept_id: str
    type: AssociationType
    confidence: float
    weight: float
    direction: Direction
    label: str = ""  # what the association says in words; "" when it has none


@dataclass(frozen=True)
class Path:
    concepts: list[Concept]  # start .. end, without embeddings
    edges: list[Edge]  # edges[i] joins concepts[i] and concepts[i + 1]

    @property
    def concept_ids(self) -> list[str]:
        return [c.id for c in self.concepts]


@dataclass(frozen=True)
class SearchHit:
    concept_id: str
    similarity: float


@dataclass(frozen=True)
class Learned:
    concept_id: str
    sequence: int


@dataclass(frozen=True)
class BatchResult:
    concept_ids: list[str]
    associations: int
    sequence: int


@dataclass(frozen=True)
class ConceptInput:
    content: str
    concept_id: str | None = None
    embedding: Vector | None = None
    strength: float | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class AssociationInput:
    source_id: str
    target_id: str
    type: AssociationType = AssociationType.SEMANTIC
    confidence: float | None = None
    weight: float | None = None
    label: str = ""  # at most 200 characters


# The threads now inside a storage call (thread idents). A caller whose deadline passes while
# its worker is in one can name storage at once, without waiting for the worker to report.
_CALLING: set[int] = set()


def in_storage_call(thread_id: int) -> bool:
    """Is that thread waiting for storage right now?"""
    return thread_id in _CALLING


class CallerDeadlineExceeded(DeadlineExceeded):
    """The deadline of a `bounded` client ran out: `called` says whether it cut a call
    (storage did not answer in time) or no call was made (the time was spent before)."""

    def __init__(self, message: str, *, called: bool) -> None:
        super().__init__(message)
        self.called = called


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4  # first try included
    initial_backoff: float = 0.05
    max_backoff: float = 1.0
    multiplier: float = 2.0

    def delays(self) -> Iterator[float]:
        delay = self.initial_backoff
        for _ in range(self.attempts - 1):
            yield random.uniform(0, delay)  # full jitter
            delay = min(delay * self.multiplier, self.max_backoff)


def channel_options() -> list[tuple[str, int]]:
    """Channel options shared by the blocking and the asyncio client."""
    return [
        ("grpc.max_receive_message_length", 64 * 1024 * 1024),
        ("grpc.max_send_message_length", 64 * 1024 * 1024),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        # Reconnect soon after a storage restart (the default first wait is one second).
        ("grpc.initial_reconnect_backoff_ms", 250),
        ("grpc.max_reconnect_backoff_ms", 5_000),
        # Service-to-service calls never go through an http_proxy set in the environment.
        ("grpc.enable_http_proxy", 0),
    ]


def vector_to_pb(values: Vector | None) -> list[float]:
    if values is None:
        return []
    return np.asarray(values, dtype=np.float32).reshape(-1).tolist()


def vector_to_bytes(values: Vector | None) -> bytes:
    """A vector as the protocol's packed fields want it: little-endian float32."""
    if values is None:
        return b""
    return np.ascontiguousarray(values, dtype="<f4").reshape(-1).tobytes()


def _concept_request(c: ConceptInput | Mapping[str, Any]) -> pb.LearnConceptRequest:
    if isinstance(c, Mapping):
        c = ConceptInput(**c)
    # Packed float32: a fraction of the cost of a repeated float field at both ends.
    request = pb.LearnConceptRequest(content=c.content, embedding_f32=vector_to_bytes(c.embedding))
    if c.concept_id is not None:
        request.concept_id = c.concept_id
    if c.strength is not None:
        request.strength = c.strength
    if c.confidence is not None:
        request.confidence = c.confidence
    return request


def _association_request(a: AssociationInput | Mapping[str, Any]) -> pb.LearnAssociationRequest:
    if isinstance(a, Mapping):
        a = AssociationInput(**a)
    request = pb.LearnAssociationRequest(
        source_id=a.source_id, target_id=a.target_id, type=int(a.type), label=a.label
    )
    if a.confidence is not None:
        request.confidence = a.confidence
    if a.weight is not None:
        request.weight = a.weight
    return request


def concept_from_pb(message: pb.Concept) -> Concept:
    """The concept of a message; its vector from `embedding_f32` or `embedding`."""
    if message.embedding_f32:
        embedding: np.ndarray | None = np.frombuffer(message.embedding_f32, dtype="<f4").astype(
            np.float32
        )
    elif message.embedding:
        embedding = np.asarray(message.embedding, dtype=np.float32)
    else:
        embedding = None
    return Concept(
        id=message.id,
        content=message.content,
        embedding=embedding,
        strength=message.strength,
        confidence=message.confidence,
        created_at=message.created_at,
        updated_at=message.updated_at,
        access_count=message.access_count,
    )


def concepts_from_pb(response: pb.GetConceptsResponse) -> list[Concept | None]:
    return [concept_from_pb(r.concept) if r.found else None for r in response.results]


def neighbor_from_pb(n: pb.Neighbor) -> Neighbor:
    return Neighbor(
        n.concept_id,
        AssociationType(n.type),
        n.confidence,
        n.weight,
        Direction(n.direction),
        n.label,
    )


def stats_from_pb(s: pb.GetStatsResponse) -> Stats:
    return from_message(Stats, s)


def _info(message: pb.SnapshotInfo) -> SnapshotInfo:
    return from_message(SnapshotInfo, message)


@dataclass
class StorageClient:
    """Client of one storage server, e.g. ``StorageClient("storage-server:50051")``."""

    target: str
    timeout: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    snapshot_timeout: float = 3600.0
    options: Sequence[tuple[str, Any]] = ()
    # Read followers (host:port); None: SUTRA_STORAGE_READERS. With followers, writes are
    # retried through a writer failover (`failover`), with content-derived concept ids.
    readers: Sequence[str] | None = None
    failover: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(attempts=120, initial_backoff=0.05, max_backoff=0.5)
    )
    _deadline: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        readers = routing.readers_from_env() if self.readers is None else list(self.readers)
        if readers:  # a restarted writer is found again within a second, not five
            self.options = [*routing.FAILOVER_OPTIONS, *self.options]
        # With tracing on (sutra.common.tracing), each call carries the caller's trace context.
        self._channel = tracing.traced_channel(
            grpc.insecure_channel(self.target, options=[*channel_options(), *self.options])
        )
        self._stub = pb_grpc.StorageServiceStub(self._channel)
        self._health_stub: Any = None
        self._reader_channels: list[grpc.Channel] = []
        self._router = routing.ReadRouter(readers, self._reader_stub) if readers else None
        self.last_token = 0  # the newest write token this client got: its reads see it

    def _reader_stub(self, target: str) -> pb_grpc.StorageServiceStub:
        channel = tracing.traced_channel(
            grpc.insecure_channel(target, options=[*channel_options(), *self.options])
        )
        self._reader_channels.append(channel)
        return pb_grpc.StorageServiceStub(channel)

    def _wrote(self, token: pb.WriteToken) -> None:
        self.last_token = max(self.last_token, token.sequence)

    def _read(self, name: str, request: Any) -> Any:
        """A read from the next follower (one that has this client's writes), else the writer."""
        if self._router is None:
            return self._call(getattr(self._stub, name), request, idempotent=True)
        if self.last_token > request.min_sequence:
            request.min_sequence = self.last_token
        for target, stub in self._router.order():
            try:
                return getattr(stub, name)(request, timeout=self._allowed(None))
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
                if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise error_for(code, f"{target}: {exc.details()}") from None
                self._router.mark_down(target)
        return self._call(getattr(self._stub, name), request, idempotent=True)

    # ------------------------------------------------------------- plumbing

    def bounded(self, deadline: float | None) -> StorageClient:
        """This client with every call ending by `deadline` (a `time.monotonic()` time); itself
        for None. The view shares the channel: close the client, never the view."""
        if deadline is None:
            return self
        view = copy.copy(self)
        view._deadline = deadline
        return view

    def _allowed(self, timeout: float | None) -> float:
        """The gRPC timeout of the next attempt: the call's own, cut to the deadline left."""
        own = timeout or self.timeout
        if self._deadline is None:
            return own
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise CallerDeadlineExceeded(
                f"{self.target}: not called, the caller's deadline had passed", called=False
            )
        return min(own, left)

    def _call(
        self,
        method: Callable[..., T],
        request: Any,
        *,
        idempotent: bool,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> T:
        delays = (retry or self.retry).delays() if idempotent else iter(())
        while True:
            allowed = self._allowed(timeout)
            thread = threading.get_ident()
            _CALLING.add(thread)
            try:
                return method(request, timeout=allowed)
            except grpc.RpcError as exc:
                code = exc.code() if hasattr(exc, "code") else grpc.StatusCode.UNKNOWN
                details = (exc.details() if hasattr(exc, "details") else None) or str(exc)
                if code == grpc.StatusCode.UNAVAILABLE:
                    delay = next(delays, None)
                    if delay is not None and self._time_for(delay):
                        time.sleep(delay)
                        continue
                    details = f"{self.target}: {details}"
                elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    if allowed < (timeout or self.timeout):
                        raise CallerDeadlineExceeded(
                            f"{self.target}: no answer within the {allowed:.3g} s left of the "
                            "caller's deadline",
                            called=True,
                        ) from None
                    details = f"{self.target}: no answer within {allowed} s"
                raise error_for(code, details) from None
            finally:
                _CALLING.discard(thread)

    def _time_for(self, delay: float) -> bool:
        """Does a retry after `delay` seconds still start before the deadline?"""
        return self._deadline is None or time.monotonic() + delay < self._deadline

    def close(self) -> None:
        self._channel.close()
        for channel in self._reader_channels:
            channel.close()

    def __enter__(self) -> StorageClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- writes

    def learn_concept(
        self,
        content: str,
        *,
        concept_id: str | None = None,
        embedding: Vector | None = None,
        strength: float | None = None,
        confidence: float | None = None,
    ) -> Learned:
        """Store or strengthen a concept; returns once it is durable."""
        if concept_id is None and self._router is not None:  # a retry must name the same id
            concept_id = concept_id_for(content)
        request = _concept_request(
            ConceptInput(content, concept_id, embedding, strength, confidence)
        )
        response = self._call(
            self._stub.LearnConcept,
            request,
            idempotent=concept_id is not None,
            retry=self.failover if self._router is not None else None,
        )
        self._wrote(response.token)
        return Learned(response.concept_id, response.sequence)

    def learn_batch(
        self,
        concepts: Iterable[ConceptInput | Mapping[str, Any]] = (),
        associations: Iterable[AssociationInput | Mapping[str, Any]] = (),
    ) -> BatchResult:
        """Many concepts and associations in one transaction: all stored or none."""
        request = pb.LearnBatchRequest(
            concepts=[_concept_request(c) for c in concepts],
            associations=[_association_request(a) for a in associations],
        )
        replicated = self._router is not None
        if replicated:  # content-derived ids: a retry after a failover names the same concepts
            for concept in request.concepts:
                if not concept.HasField("concept_id"):
                    concept.concept_id = concept_id_for(concept.content)
        response = self._call(
            self._stub.LearnBatch,
            request,
            idempotent=replicated,
            retry=self.failover if replicated else None,
        )
        self._wrote(response.token)
        return BatchResult(list(response.concept_ids), response.associations, response.sequence)

    def learn_association(
        self,
        source_id: str,
        target_id: str,
        type: AssociationType | int = AssociationType.SEMANTIC,
        *,
        confidence: float | None = None,
        weight: float | None = None,
        label: str = "",
    ) -> int:
        """Store or update an association; returns its sequence once durable."""
        request = _association_request(
            AssociationInput(source_id, target_id, AssociationType(type), confidence, weight, label)
        )
        response = self._call(
            self._stub.LearnAssociation,
            request,
            idempotent=True,
            retry=self.failover if self._router is not None else None,
        )
        self._wrote(response.token)
        return response.sequence

    def flush(self) -> int:
        return self._call(self._stub.Flush, pb.FlushRequest(), idempotent=True).sequence

    # ----------------------------------------------------------------- reads

    def get_concept(self, concept_id: str, *, embedding: bool = True) -> Concept | None:
        request = pb.GetConceptRequest(
            concept_id=concept_id, skip_embedding=not embedding, packed_embedding=embedding
        )
        response = self._read("GetConcept", request)
        return concept_from_pb(response.concept) if response.found else None

    def get_concepts(
        self, concept_ids: Sequence[str], *, embedding: bool = False
    ) -> list[Concept | None]:
        """The concepts of `concept_ids` (None for an unknown id), in order, in one round trip.

        All are read from one consistent snapshot of the store; at most MAX_GET_CONCEPTS ids.
        """
        if not concept_ids:
            return []
        request = pb.GetConceptsRequest(concept_ids=concept_ids, embedding=embedding)
        return concepts_from_pb(self._read("GetConcepts", request))

    def get_neighbors(
        self,
        concept_id: str,
        *,
        direction: Direction | int = Direction.BOTH,
        types: Iterable[AssociationType | int] = (),
        limit: int = 0,
    ) -> list[Neighbor]:
        request = pb.GetNeighborsRequest(
            concept_id=concept_id,
            direction=int(direction),
            types=[int(t) for t in types],
            limit=limit,
        )
        response = self._read("GetNeighbors", request)
        return [neighbor_from_pb(n) for n in response.neighbors]

    def find_path(
        self, start_id: str, end_id: str, *, max_depth: int = 0, directed: bool = False
    ) -> Path | None:
        """The shortest path between two concepts (at most `max_depth` edges), or None."""
        request = pb.FindPathRequest(
            start_id=start_id, end_id=end_id, max_depth=max_depth, directed=directed
        )
        response = self._read("FindPath", request)
        if not response.found:
            return None
        return Path(
            [concept_from_pb(c) for c in response.concepts],
            [
                Edge(e.source_id, e.target_id, AssociationType(e.type), e.confidence, e.weight)
                for e in response.edges
            ],
        )

    def vector_search(
        self, query: Vector, k: int = 10, *, ef_search: int | None = None
    ) -> list[SearchHit]:
        request = pb.VectorSearchRequest(query_vector_f32=vector_to_bytes(query), k=k)
        if ef_search is not None:
            request.ef_search = ef_search
        response = self._read("VectorSearch", request)
        return [SearchHit(r.concept_id, r.similarity) for r in response.results]

    def stats(self) -> Stats:
        return stats_from_pb(self._call(self._stub.GetStats, pb.GetStatsRequest(), idempotent=True))

    def digest(self, *, min_sequence: int = 0) -> dict[str, Any]:
        """This server's store digest (sha256, sequence, concepts, associations)."""
        request = pb.DigestRequest(min_sequence=min_sequence)
        response = self._call(self._stub.Digest, request, idempotent=True)
        return {
            "sha256": response.sha256,
            "sequence": response.sequence,
            "concepts": response.concepts,
            "associations": response.associations,
        }

    def replication_status(self) -> dict[str, Any] | None:
        """This server's place in its shard's log; None when the store is not replicated."""
        response = self._call(self._stub.GetStats, pb.GetStatsRequest(), idempotent=True)
        if not response.HasField("replication"):
            return None
        r = response.replication
        return {
            "role": r.role,
            "state": r.state,
            "shard": r.shard,
            "address": r.address,
            "pid": r.pid or None,
            "sequence": r.applied_sequence,
            "log_sequence": r.log_sequence,
            "lag": r.lag_entries,
            "lag_seconds": r.lag_seconds,
            "writer_address": r.writer_address,
            "ready": r.ready,
        }

    def health(self, service: str = "") -> bool:
        """True when the server's grpc.health.v1 service reports SERVING."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        if self._health_stub is None:
            self._health_stub = health_pb2_grpc.HealthStub(self._channel)
        response = self._call(
            self._health_stub.Check,
            health_pb2.HealthCheckRequest(service=service),
            idempotent=True,
        )
        return response.status == health_pb2.HealthCheckResponse.SERVING

    # ------------------------------------------------------------- snapshots

    def snapshot(self, destination: str) -> SnapshotInfo:
        """Have the server write a snapshot into `destination` on its own filesystem."""
        request = pb.SnapshotRequest(destination=destination)
        response = self._call(
            self._stub.Snapshot, request, idempotent=False, timeout=self.snapshot_timeout
        )
        return _info(response.info)

    def download_snapshot(self, root: pathlib.Path | str, *, chunk_bytes: int = 0) -> SnapshotInfo:
        """Stream a snapshot into a new `root/<UTC timestamp>/`, atomically, checksum verified.

        Raises StorageError for server errors, `snapshots.SnapshotCorrupt` when the data
        received does not match the server's size and checksum (nothing is kept then).
        """
        from sutra.storage import snapshots

        root = pathlib.Path(root)
        root.mkdir(parents=True, exist_ok=True)
        destination = snapshots.timestamped_destination(root)
        stream = self._stub.StreamSnapshot(
            pb.StreamSnapshotRequest(chunk_bytes=chunk_bytes), timeout=self.snapshot_timeout
        )
        try:
            with snapshots.SnapshotWriter(destination) as writer:
                header: pb.SnapshotInfo | None = None
                for part in stream:
                    kind = part.WhichOneof("part")
                    if kind == "header":
                        header = part.header
                    elif kind == "data":
                        writer.write(part.data)
                    elif kind == "trailer":
                        if header is None:
                            raise StorageError("snapshot stream had no header")
                        info = writer.commit(
                            sequence=header.sequence,
                            concepts=header.concepts,
                            associations=header.associations,
                            vectors=header.vectors,
                            created_at=header.created_at,
                            expected_size=part.trailer.total_bytes,
                            expected_sha256=part.trailer.sha256,
                        )
                        return SnapshotInfo(**asdict(info))
                raise StorageError("snapshot stream ended before its trailer")
        except grpc.RpcError as exc:
            raise error_for(exc.code(), f"{self.target}: {exc.details()}") from None
        finally:
            stream.cancel()
