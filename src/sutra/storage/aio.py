"""An asyncio client for the storage server (grpc.aio), for services that serve on an event loop.

It mirrors the read side of `sutra.storage.client.StorageClient`: the same dataclasses, the
same exceptions carrying the server's message, one channel with the same keepalive options.
Every call has a deadline, and the deadline bounds the whole call, retries included, so a
caller that promised its own client an answer within N seconds can keep that promise.
Only idempotent calls are retried, and only on UNAVAILABLE (see client.py for why).

Create it inside the running event loop (e.g. in an application's lifespan): a grpc.aio
channel belongs to the loop that first uses it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence
from typing import Any

import grpc
import grpc.aio

from sutra.common import tracing
from sutra.storage import routing
from sutra.storage.client import (
    AssociationType,
    Concept,
    Direction,
    Neighbor,
    RetryPolicy,
    SearchHit,
    Stats,
    Vector,
    channel_options,
    concept_from_pb,
    concepts_from_pb,
    neighbor_from_pb,
    stats_from_pb,
    vector_to_bytes,
)
from sutra.storage.errors import StorageError, error_for
from sutra.storage.v1 import storage_pb2 as pb
from sutra.storage.v1 import storage_pb2_grpc as pb_grpc

__all__ = ["AsyncStorageClient", "StorageError"]


class AsyncStorageClient:
    """E.g. ``AsyncStorageClient("storage-server:50051", timeout=2.0)``; close it when done."""

    def __init__(
        self,
        target: str,
        *,
        timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        options: Sequence[tuple[str, Any]] = (),
        readers: Sequence[str] | None = None,
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.options = list(options)
        self._channels: list[grpc.aio.Channel] = []
        self._stub = self._make_stub(target)
        self._channel = self._channels[0]
        self._health_stub: Any = None
        # Read followers (None: SUTRA_STORAGE_READERS): reads go to them in turn, as in
        # StorageClient, and to the writer when none answers.
        targets = routing.readers_from_env() if readers is None else list(readers)
        self._router = routing.ReadRouter(targets, self._make_stub) if targets else None

    def _make_stub(self, target: str) -> pb_grpc.StorageServiceStub:
        channel = grpc.aio.insecure_channel(
            target,
            options=[*channel_options(), *self.options],
            interceptors=tracing.aio_client_interceptors(),  # none unless tracing is on
        )
        self._channels.append(channel)
        return pb_grpc.StorageServiceStub(channel)

    async def _read(self, name: str, request: Any, timeout: float | None) -> Any:
        """A read from the next follower that answers, else from the writer."""
        if self._router is not None:
            for target, stub in self._router.order():
                try:
                    return await getattr(stub, name)(request, timeout=timeout or self.timeout)
                except grpc.aio.AioRpcError as exc:
                    code = exc.code()
                    if code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                        raise error_for(code, f"{target}: {exc.details()}") from None
                    self._router.mark_down(target)
        return await self._call(
            getattr(self._stub, name), request, idempotent=True, timeout=timeout
        )

    async def _call(
        self, method: Any, request: Any, *, idempotent: bool, timeout: float | None = None
    ) -> Any:
        budget = timeout or self.timeout
        deadline = time.monotonic() + budget
        delays = self.retry.delays() if idempotent else iter(())
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise error_for(
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        f"{self.target}: no answer within {budget} s",
                    )
                return await method(request, timeout=remaining)
            except grpc.aio.AioRpcError as exc:
                code, details = exc.code(), exc.details() or str(exc)
                if code == grpc.StatusCode.UNAVAILABLE:
                    delay = next(delays, None)
                    # Retry only when the backoff still leaves time for another attempt.
                    if delay is not None and time.monotonic() + delay < deadline:
                        await asyncio.sleep(delay)
                        continue
                    details = f"{self.target}: {details}"
                elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
                    details = f"{self.target}: no answer within {budget} s"
                raise error_for(code, details) from None

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()

    async def __aenter__(self) -> AsyncStorageClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ----------------------------------------------------------------- reads

    async def get_concept(
        self, concept_id: str, *, embedding: bool = True, timeout: float | None = None
    ) -> Concept | None:
        request = pb.GetConceptRequest(
            concept_id=concept_id, skip_embedding=not embedding, packed_embedding=embedding
        )
        response = await self._read("GetConcept", request, timeout)
        return concept_from_pb(response.concept) if response.found else None

    async def get_concepts(
        self,
        concept_ids: Sequence[str],
        *,
        embedding: bool = False,
        timeout: float | None = None,
    ) -> list[Concept | None]:
        """The concepts of `concept_ids` (None for an unknown id), in order, in one round trip."""
        if not concept_ids:
            return []
        request = pb.GetConceptsRequest(concept_ids=concept_ids, embedding=embedding)
        response = await self._read("GetConcepts", request, timeout)
        return concepts_from_pb(response)

    async def get_neighbors(
        self,
        concept_id: str,
        *,
        direction: Direction | int = Direction.BOTH,
        types: Iterable[AssociationType | int] = (),
        limit: int = 0,
        timeout: float | None = None,
    ) -> list[Neighbor]:
        request = pb.GetNeighborsRequest(
            concept_id=concept_id,
            direction=int(direction),
            types=[int(t) for t in types],
            limit=limit,
        )
        response = await self._read("GetNeighbors", request, timeout)
        return [neighbor_from_pb(n) for n in response.neighbors]

    async def vector_search(
        self,
        query: Vector,
        k: int = 10,
        *,
        ef_search: int | None = None,
        timeout: float | None = None,
    ) -> list[SearchHit]:
        request = pb.VectorSearchRequest(query_vector_f32=vector_to_bytes(query), k=k)
        if ef_search is not None:
            request.ef_search = ef_search
        response = await self._read("VectorSearch", request, timeout)
        return [SearchHit(r.concept_id, r.similarity) for r in response.results]

    async def stats(self, *, timeout: float | None = None) -> Stats:
        response = await self._call(
            self._stub.GetStats, pb.GetStatsRequest(), idempotent=True, timeout=timeout
        )
        return stats_from_pb(response)

    async def health(self, service: str = "", *, timeout: float | None = None) -> bool:
        """True when the server's grpc.health.v1 service reports SERVING."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        if self._health_stub is None:
            self._health_stub = health_pb2_grpc.HealthStub(self._channel)
        response = await self._call(
            self._health_stub.Check,
            health_pb2.HealthCheckRequest(service=service),
            idempotent=True,
            timeout=timeout,
        )
        return response.status == health_pb2.HealthCheckResponse.SERVING
