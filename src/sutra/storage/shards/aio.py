"""`AsyncShardedStorageClient`: `AsyncStorageClient`'s read interface over the shards.

The api and control services read storage from asyncio. Each call runs the blocking router
(`ShardedStorageClient`, whose per-shard calls already run in parallel threads) in a worker
thread, so the event loop never blocks; `timeout` bounds the whole call, retries included.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sutra.storage.client import (
    Concept,
    Direction,
    Neighbor,
    RetryPolicy,
    SearchHit,
    Stats,
    Vector,
)
from sutra.storage.model import AssociationType
from sutra.storage.shards.router import (
    ShardedStorageClient,
    shard_readers_from_env,
    shards_from_env,
)

__all__ = ["AsyncShardedStorageClient", "async_storage_client"]

T = TypeVar("T")


def async_storage_client(target: str, **options: Any) -> Any:
    """The asyncio storage client a service should use: sharded when SUTRA_STORAGE_SHARDS
    names two or more shards, else an `AsyncStorageClient` of `target`."""
    shards = shards_from_env()
    if len(shards) > 1:
        options.pop("readers", None)
        return AsyncShardedStorageClient(
            shards, readers=shard_readers_from_env(len(shards)), **options
        )
    from sutra.storage.aio import AsyncStorageClient

    return AsyncStorageClient(target, **options)


class AsyncShardedStorageClient:
    def __init__(
        self,
        targets: Sequence[str],
        *,
        timeout: float = 5.0,
        retry: RetryPolicy | None = None,
        options: Sequence[tuple[str, Any]] = (),
        readers: Sequence[Sequence[str]] | None = None,
    ) -> None:
        self.timeout = timeout
        self.router = ShardedStorageClient(
            targets,
            timeout=timeout,
            retry=retry or RetryPolicy(),
            options=options,
            readers=readers,
        )

    async def _run(self, timeout: float | None, call: Callable[[ShardedStorageClient], T]) -> T:
        view = self.router.bounded(time.monotonic() + (timeout or self.timeout))
        return await asyncio.to_thread(call, view)

    async def close(self) -> None:
        self.router.close()

    async def __aenter__(self) -> AsyncShardedStorageClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def get_concept(
        self, concept_id: str, *, embedding: bool = True, timeout: float | None = None
    ) -> Concept | None:
        return await self._run(timeout, lambda r: r.get_concept(concept_id, embedding=embedding))

    async def get_concepts(
        self, concept_ids: Sequence[str], *, embedding: bool = False, timeout: float | None = None
    ) -> list[Concept | None]:
        return await self._run(timeout, lambda r: r.get_concepts(concept_ids, embedding=embedding))

    async def get_neighbors(
        self,
        concept_id: str,
        *,
        direction: Direction | int = Direction.BOTH,
        types: Iterable[AssociationType | int] = (),
        limit: int = 0,
        timeout: float | None = None,
    ) -> list[Neighbor]:
        types = list(types)
        return await self._run(
            timeout,
            lambda r: r.get_neighbors(concept_id, direction=direction, types=types, limit=limit),
        )

    async def vector_search(
        self,
        query: Vector,
        k: int = 10,
        *,
        ef_search: int | None = None,
        timeout: float | None = None,
    ) -> list[SearchHit]:
        return await self._run(timeout, lambda r: r.vector_search(query, k, ef_search=ef_search))

    async def stats(self, *, timeout: float | None = None) -> Stats:
        return await self._run(timeout, lambda r: r.stats())

    async def health(self, service: str = "", *, timeout: float | None = None) -> bool:
        return await self._run(timeout, lambda r: r.health(service))
