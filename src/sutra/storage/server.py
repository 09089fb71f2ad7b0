"""The gRPC face of the engine: `sutra.storage.v1.StorageService` plus `grpc.health.v1`.

Handlers only translate: protobuf in, engine call, protobuf out. Engine errors become
their gRPC status with the engine's message, so a client sees exactly what was wrong.
Shutdown (SIGTERM or SIGINT) reports NOT_SERVING, stops taking RPCs, lets running ones
finish, drains and commits the write queue, persists the vector index and exits 0; the signal
handler only records the signal, the main thread does all of that.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import grpc
import numpy as np
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from sutra.common.logging import configure_logging, log_event
from sutra.common.metrics import MetricsServer, serve_metrics
from sutra.common.serve import stop_signals
from sutra.common.settings import fail, load_settings
from sutra.storage.engine import Concept, Engine, WriteResult
from sutra.storage.errors import InvalidArgument, StorageError, Unavailable
from sutra.storage.metrics import StorageMetrics
from sutra.storage.model import SnapshotInfo
from sutra.storage.replication import member as replication
from sutra.storage.replication.digest import store_digest
from sutra.storage.settings import StorageSettings
from sutra.storage.shards import service as shards
from sutra.storage.shards import transfer
from sutra.storage.v1 import storage_pb2 as pb
from sutra.storage.v1 import storage_pb2_grpc as pb_grpc

PROGRAM = "sutra-storage"
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["StorageService"].full_name
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

log = logging.getLogger("sutra.storage.server")
R = TypeVar("R")


def _status(handler: Callable[..., R]) -> Callable[..., R]:
    """Turn engine errors into gRPC statuses; anything unexpected is INTERNAL, logged once."""

    @functools.wraps(handler)
    def wrapper(self: StorageServicer, request: Any, context: grpc.ServicerContext) -> R:
        try:
            return handler(self, request, context)
        except StorageError as exc:
            context.abort(exc.code, exc.message)
        except Exception as exc:
            log_event(log, "rpc_failed", logging.ERROR, rpc=handler.__name__, error=repr(exc))
            context.abort(grpc.StatusCode.INTERNAL, f"internal error: {exc}")
        raise AssertionError("unreachable: context.abort raises")

    return wrapper


def _packed_vector(packed: bytes, listed: Any, what: str) -> np.ndarray | None:
    """The vector of a request that has it as packed float32 bytes or as a repeated float."""
    if packed:
        if listed:
            raise InvalidArgument(f"set {what} or {what}_f32, not both")
        if len(packed) % 4:
            raise InvalidArgument(
                f"{what}_f32 must hold little-endian float32 values (4 bytes each), "
                f"got {len(packed)} bytes"
            )
        return np.frombuffer(packed, dtype="<f4")
    if listed:
        return np.asarray(listed, dtype=np.float32)
    return None


def _concept_pb(concept: Concept, *, packed: bool = False) -> pb.Concept:
    message = pb.Concept(
        id=concept.id,
        content=concept.content,
        strength=concept.strength,
        confidence=concept.confidence,
        created_at=concept.created_at,
        updated_at=concept.updated_at,
        access_count=concept.access_count,
    )
    if concept.embedding is not None:
        if packed:
            message.embedding_f32 = concept.embedding.astype("<f4", copy=False).tobytes()
        else:
            message.embedding.extend(concept.embedding.tolist())
    return message


def _info_pb(info: SnapshotInfo) -> pb.SnapshotInfo:
    return pb.SnapshotInfo(**asdict(info))


class StorageServicer(pb_grpc.StorageServiceServicer):
    def __init__(
        self,
        engine: Engine,
        shard: shards.ShardRole,
        member: replication.Member | None = None,
    ) -> None:
        self.engine = engine
        self.shard = shard  # an unsharded store is shard 0 of a one-shard map
        self.member = member  # None: a single server, no log

    def _write(self, concepts: Sequence[Any], associations: Sequence[Any], batch: bool = False):  # type: ignore[no-untyped-def]
        """The write, once durable (and in the log when replicated), and its token."""
        self._writable()  # shard ownership: checked by the writer thread, in order with switches
        result: WriteResult = self.engine.write(concepts, associations, batch=batch)
        return result, self._token(result)

    def _writable(self) -> None:
        """Refuse a write on a follower, naming the writer."""
        if self.member is not None and (refusal := self.member.write_refusal()) is not None:
            raise refusal

    def _token(self, result: WriteResult) -> pb.WriteToken:
        shard = self.member.shard if self.member is not None else 0
        sequence = result.token if self.member is not None else result.sequence
        return pb.WriteToken(shard=shard, sequence=sequence)

    def _readable(self, request: Any, context: grpc.ServicerContext) -> None:
        """Refuse a read this member cannot answer yet (UNAVAILABLE: the client reads elsewhere)."""
        wanted = request.min_sequence
        if self.member is not None:
            left = context.time_remaining()
            self.member.check_read(wanted, 3600.0 if left is None else left - 0.05)
        elif wanted > self.engine.sequence:
            raise Unavailable(
                f"this server has committed write sequence {self.engine.sequence}, "
                f"not {wanted}: the token is not from this store"
            )

    def _concept_input(self, request: pb.LearnConceptRequest):  # type: ignore[no-untyped-def]
        return self._concept_inputs([request])[0]

    def _concept_inputs(self, requests: Sequence[pb.LearnConceptRequest]) -> list[Any]:
        """Every concept of a request checked; their vectors converted and checked at once."""
        vectors = self.engine.check_vectors(
            [_packed_vector(r.embedding_f32, r.embedding, "embedding") for r in requests]
        )
        make = self.engine.make_concept
        return [
            make(
                concept_id=r.concept_id if r.HasField("concept_id") else None,
                content=r.content,
                embedding=vector,
                strength=r.strength if r.HasField("strength") else None,
                confidence=r.confidence if r.HasField("confidence") else None,
                vector_checked=True,
            )
            for r, vector in zip(requests, vectors, strict=True)
        ]

    def _association_input(self, request: pb.LearnAssociationRequest):  # type: ignore[no-untyped-def]
        return self.engine.make_association(
            source_id=request.source_id,
            target_id=request.target_id,
            type=request.type,
            confidence=request.confidence if request.HasField("confidence") else None,
            weight=request.weight if request.HasField("weight") else None,
            label=request.label,
        )

    @_status
    def LearnConcept(self, request, context):  # type: ignore[no-untyped-def]
        result, token = self._write([self._concept_input(request)], [])
        return pb.LearnConceptResponse(
            concept_id=result.concept_ids[0], sequence=result.sequence, token=token
        )

    @_status
    def LearnAssociation(self, request, context):  # type: ignore[no-untyped-def]
        result, token = self._write([], [self._association_input(request)])
        return pb.LearnAssociationResponse(sequence=result.sequence, token=token)

    @_status
    def LearnBatch(self, request, context):  # type: ignore[no-untyped-def]
        concepts = self._concept_inputs(request.concepts)
        associations = [self._association_input(a) for a in request.associations]
        result, token = self._write(concepts, associations, batch=True)
        return pb.LearnBatchResponse(
            concept_ids=result.concept_ids,
            associations=result.associations,
            sequence=result.sequence,
            token=token,
        )

    @_status
    def GetConcept(self, request, context):  # type: ignore[no-untyped-def]
        self._readable(request, context)
        self.shard.check_read(request.concept_id)
        concept = self.engine.get_concept(request.concept_id, embedding=not request.skip_embedding)
        if concept is None:
            return pb.GetConceptResponse(found=False)
        return pb.GetConceptResponse(
            found=True, concept=_concept_pb(concept, packed=request.packed_embedding)
        )

    @_status
    def GetConcepts(self, request, context):  # type: ignore[no-untyped-def]
        self._readable(request, context)
        concepts = self.engine.get_concepts(request.concept_ids, embedding=request.embedding)
        self.shard.check_reads(  # "not found" only from the owner
            [i for i, c in zip(request.concept_ids, concepts, strict=True) if c is None]
        )
        missing = pb.GetConceptResponse(found=False)
        return pb.GetConceptsResponse(
            results=[
                missing
                if concept is None
                else pb.GetConceptResponse(found=True, concept=_concept_pb(concept, packed=True))
                for concept in concepts
            ]
        )

    @_status
    def GetNeighbors(self, request, context):  # type: ignore[no-untyped-def]
        self._readable(request, context)
        self.shard.check_read(request.concept_id)
        neighbors = self.engine.neighbors(
            request.concept_id,
            direction=request.direction,
            types=list(request.types),
            limit=request.limit,
        )
        return pb.GetNeighborsResponse(neighbors=[shards.neighbor_pb(n) for n in neighbors])

    @_status
    def FindPath(self, request, context):  # type: ignore[no-untyped-def]
        self._readable(request, context)
        found = self.engine.find_path(
            request.start_id,
            request.end_id,
            max_depth=request.max_depth,
            directed=request.directed,
        )
        if found is None:
            return pb.FindPathResponse(found=False)
        concepts, edges = found
        return pb.FindPathResponse(
            found=True,
            concepts=[_concept_pb(c) for c in concepts],
            edges=[
                pb.Edge(
                    source_id=e.source_id,
                    target_id=e.target_id,
                    type=e.type,
                    confidence=e.confidence,
                    weight=e.weight,
                )
                for e in edges
            ],
        )

    @_status
    def VectorSearch(self, request, context):  # type: ignore[no-untyped-def]
        self._readable(request, context)
        query = _packed_vector(request.query_vector_f32, request.query_vector, "query_vector")
        hits = self.engine.search(
            np.empty(0, dtype=np.float32) if query is None else query,
            request.k,
            request.ef_search if request.HasField("ef_search") else None,
        )
        return pb.VectorSearchResponse(
            results=[pb.SearchResult(concept_id=cid, similarity=sim) for cid, sim in hits]
        )

    @_status
    def GetStats(self, request, context):  # type: ignore[no-untyped-def]
        response = pb.GetStatsResponse(**asdict(self.engine.stats()))
        if self.member is not None:
            status = self.member.status()
            response.replication.CopyFrom(
                pb.ReplicationStatus(
                    role=status["role"],
                    state=status["state"],
                    shard=status["shard"],
                    address=status["address"],
                    applied_sequence=status["sequence"],
                    log_sequence=status["log_sequence"],
                    lag_entries=status["lag"],
                    lag_seconds=status["lag_seconds"],
                    writer_address=status["writer_address"],
                    ready=status["ready"],
                    pid=status["pid"],
                )
            )
        if self.shard.sharded:
            response.shard.CopyFrom(transfer.status(self.shard, self.engine))
        return response

    @_status
    def GetNeighborsBatch(self, request, context):  # type: ignore[no-untyped-def]
        self._readable(request, context)
        found = shards.neighbors_batch(self.engine, request)
        self.shard.check_reads(  # "not found" only from the owner
            [i for i, r in zip(request.concept_ids, found.results, strict=True) if not r.found]
        )
        return found

    @_status
    def ScanEdges(self, request, context):  # type: ignore[no-untyped-def]
        return shards.scan_edges(self.engine, request)

    @_status
    def Reshard(self, request, context):  # type: ignore[no-untyped-def]
        self._writable()
        return pb.ReshardResponse(shard=transfer.reshard(self.shard, self.engine, request))

    @_status
    def ScanMoving(self, request, context):  # type: ignore[no-untyped-def]
        return transfer.scan_moving(self.shard, self.engine, request)

    @_status
    def AckMoving(self, request, context):  # type: ignore[no-untyped-def]
        self._writable()
        return transfer.ack_moving(self.engine, request)

    @_status
    def ImportConcepts(self, request, context):  # type: ignore[no-untyped-def]
        self._writable()
        copies = transfer.copies_from_pb(self.shard, request.copies)
        result = self.engine.submit_copies(copies).result()
        return pb.ImportConceptsResponse(imported=len(copies), token=self._token(result))

    @_status
    def DropMoved(self, request, context):  # type: ignore[no-untyped-def]
        self._writable()
        ids, after = transfer.drop_moved(self.shard, self.engine, request)
        if ids:
            self.engine.submit_drop(ids).result()
        return pb.DropMovedResponse(dropped=len(ids), next=after)

    @_status
    def Digest(self, request, context):  # type: ignore[no-untyped-def]
        self._readable(request, context)
        digest = store_digest(self.engine, replicated=self.member is not None)
        return pb.DigestResponse(**asdict(digest))

    @_status
    def Flush(self, request, context):  # type: ignore[no-untyped-def]
        return pb.FlushResponse(sequence=self.engine.flush())

    @_status
    def Snapshot(self, request, context):  # type: ignore[no-untyped-def]
        info = self.engine.snapshot_to(Path(request.destination))
        log_event(log, "snapshot_written", path=info.path, bytes=info.size_bytes)
        return pb.SnapshotResponse(info=_info_pb(info))

    def StreamSnapshot(self, request, context) -> Iterator[pb.SnapshotChunk]:  # type: ignore[no-untyped-def]
        try:
            parts = self.engine.stream_snapshot(request.chunk_bytes)
            for part in parts:
                if isinstance(part, bytes):
                    yield pb.SnapshotChunk(data=part)
                elif isinstance(part, SnapshotInfo):
                    yield pb.SnapshotChunk(header=_info_pb(part))
                else:
                    total, digest = part
                    log_event(log, "snapshot_streamed", bytes=total)
                    yield pb.SnapshotChunk(
                        trailer=pb.SnapshotTrailer(total_bytes=total, sha256=digest)
                    )
        except StorageError as exc:
            context.abort(exc.code, exc.message)


def server_options() -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        # Clients ping every 30 s to keep idle connections through proxies; allow it.
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        ("grpc.http2.max_pings_without_data", 0),
    ]


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


# A stop polls the running handlers this often, and cancels what gRPC still holds once none
# has run for this long.
DRAIN_POLL_SECONDS = 0.05
DRAIN_SETTLE_SECONDS = 0.5


class HandlersInFlight(grpc.ServerInterceptor):
    """Counts the calls whose handler is running, so that a stop knows when its own work is done.

    gRPC's `stop(grace)` waits for every call the core has accepted, including one that arrived
    as the stop began and will never reach a handler: the stop then lasts until that caller's
    deadline (seen: 10 s with every worker idle and the write queue empty). The server waits
    for its handlers instead, then cancels what is left.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running = 0

    @property
    def running(self) -> int:
        with self._lock:
            return self._running

    @contextlib.contextmanager
    def _counted(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None:
            return handler
        if handler.unary_unary is not None:
            inner = handler.unary_unary

            def unary(request: Any, context: grpc.ServicerContext) -> Any:
                with self._counted():
                    return inner(request, context)

            return handler._replace(unary_unary=unary)
        if handler.unary_stream is not None:
            stream = handler.unary_stream

            def streaming(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
                with self._counted():
                    yield from stream(request, context)

            return handler._replace(unary_stream=streaming)
        return handler


class StorageServer:
    """An engine served over gRPC (and Prometheus), with an orderly stop."""

    def __init__(self, settings: StorageSettings) -> None:
        from sutra.common import tracing

        tracing.configure("storage-server")
        self.settings = settings
        replication.bootstrap(settings)  # a follower without its log's start: a snapshot
        self.shard = shards.setup(settings)  # refuses a volume of another shard map
        self.metrics = StorageMetrics()
        self.engine = Engine(
            settings.storage_path,
            dimension=settings.vector_dimension,
            queue_size=settings.storage_queue_size,
            map_size=settings.storage_map_size,
            max_content_bytes=settings.storage_max_content_bytes,
            max_batch=settings.storage_max_batch,
            max_group=settings.storage_max_group,
            max_readers=max(126, settings.storage_workers * 2 + 16),
            access_flush_seconds=settings.storage_access_flush_seconds,
            hnsw_threshold=settings.vector_hnsw_threshold,
            metasync=not settings.storage_nats_url,
            metrics=self.metrics,
        )
        self.engine.owns = self.shard.owns
        self.engine.moves = self.shard  # checks ownership; marks or refuses moving concepts
        self.health = health.HealthServicer(experimental_non_blocking=True)
        self.in_flight = HandlersInFlight()
        self.server = grpc.server(
            ThreadPoolExecutor(settings.storage_workers, thread_name_prefix="storage-rpc"),
            options=server_options(),
            maximum_concurrent_rpcs=settings.storage_max_concurrent_rpcs,
            # The in-flight count first; then a span per call when tracing is on.
            interceptors=[self.in_flight, *tracing.server_interceptors()],
        )
        self.address = format_address(settings.storage_host, settings.storage_port)
        self.member = replication.setup(
            settings, self.engine, self.metrics.registry, self.address, self._set_health
        )
        pb_grpc.add_StorageServiceServicer_to_server(
            StorageServicer(self.engine, self.shard, self.member), self.server
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.metrics_server: MetricsServer | None = None

    def start(self) -> None:
        try:
            self.server.add_insecure_port(self.address)
        except RuntimeError as exc:
            raise OSError(f"cannot listen on {self.address}: {exc}") from None
        if self.settings.metrics_port:
            self.metrics_server = serve_metrics(
                self.settings.metrics_port, self.metrics.registry, self.settings.storage_host
            )
        if self.member is not None:  # a writer catches up and claims the shard first
            self.member.start()
        self.server.start()
        self._set_health(self.member is None or self.member.ready)

    def _set_health(self, serving: bool) -> None:
        """SERVING, or NOT_SERVING (a follower until caught up within its lag bound)."""
        status = health_pb2.HealthCheckResponse
        for service in ("", SERVICE_NAME):
            self.health.set(service, status.SERVING if serving else status.NOT_SERVING)

    def _drain(self, grace: float) -> None:
        """Refuse new calls; wait up to `grace` for running handlers, then cancel the rest.

        Once no handler has run for DRAIN_SETTLE_SECONDS the remaining calls are ones gRPC
        accepted but never handed to a handler: nothing of ours is in them, so they are
        cancelled rather than waited for until their callers' deadlines.
        """
        stopped = self.server.stop(grace)
        idle_since: float | None = None
        while not stopped.wait(DRAIN_POLL_SECONDS):
            if self.in_flight.running:
                idle_since = None
            elif idle_since is None:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= DRAIN_SETTLE_SECONDS:
                self.server.stop(0).wait()
                return

    def stop(self) -> None:
        """NOT_SERVING, refuse new RPCs, finish running ones, drain and close the store."""
        self.health.enter_graceful_shutdown()
        self._drain(self.settings.storage_grace_seconds)
        if self.member is not None:
            self.member.stop()
        self.engine.close()
        if self.metrics_server is not None:
            self.metrics_server.stop()


def serve(settings: StorageSettings) -> int:
    """Run until SIGTERM or SIGINT; 0 after an orderly stop, 2 when it cannot start.

    The signal is only recorded (`StopSignals`); this thread wakes on it and stops the server,
    so logging, draining and closing never run inside a signal handler.
    """
    signals = stop_signals()  # first: a signal while the store opens stops it once it serves
    logger = configure_logging("storage", settings.log_level)
    started = time.monotonic()
    try:
        server = StorageServer(settings)
    except StorageError as exc:
        fail(PROGRAM, exc.message)
    except Exception as exc:  # lmdb.Error, OSError: one line, not a traceback
        fail(PROGRAM, f"cannot open the store at {settings.storage_path}: {exc}")
    try:
        server.start()
    except Exception as exc:
        if server.member is not None:
            server.member.stream.close()
        server.engine.close()
        fail(PROGRAM, str(exc))
    stats = server.engine.stats()
    log_event(
        logger,
        "serving",
        address=server.address,
        metrics_port=settings.metrics_port,
        path=str(settings.storage_path),
        dimension=settings.vector_dimension,
        concepts=stats.concepts,
        sequence=stats.sequence,
        startup_seconds=round(time.monotonic() - started, 3),
    )
    name = signals.wait()
    log_event(logger, "stopping", signal=name)
    server.stop()
    log_event(logger, "stopped", signal=name, sequence=server.engine.sequence)
    return 0


def main() -> int:
    return serve(load_settings(StorageSettings, PROGRAM))
