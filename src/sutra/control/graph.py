"""The knowledge-graph view's data: find concepts by text, then a concept with its neighbours.

Text search goes to sutra-hybrid (`/sutra/search`, inside the cluster: no public rate limit
applies to the operator); concepts and their typed associations come straight from the
storage server, read-only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Path, Query

from sutra.common.http import ServiceError
from sutra.storage.aio import AsyncStorageClient
from sutra.storage.client import Direction
from sutra.storage.errors import InvalidArgument, NotFound, StorageError

CONCEPT_ID = r"^[0-9a-fA-F]{32}$"
_DIRECTIONS = {Direction.OUTGOING: "outgoing", Direction.INCOMING: "incoming"}


def _storage_error(exc: StorageError) -> ServiceError:
    if isinstance(exc, NotFound):
        return ServiceError(404, "not_found", exc.message, field="concept_id")
    if isinstance(exc, InvalidArgument):
        return ServiceError(422, "invalid_request", exc.message, field="concept_id")
    return ServiceError(
        503, "unavailable", f"storage: {exc.message}", dependency="storage", retry_after=1
    )


class GraphReader:
    def __init__(self, storage: AsyncStorageClient, http: httpx.AsyncClient, hybrid_url: str):
        self.storage = storage
        self.http = http
        self.hybrid_url = hybrid_url

    async def search(self, text: str, limit: int) -> list[dict[str, Any]]:
        url = f"{self.hybrid_url}/sutra/search"
        try:
            reply = await self.http.post(url, json={"query": text, "top_k": limit}, timeout=10)
        except httpx.HTTPError as exc:
            raise ServiceError(
                503, "unavailable", f"hybrid: {url}: {exc or type(exc).__name__}",
                dependency="hybrid", retry_after=1,
            ) from None  # fmt: skip
        if reply.status_code != 200:
            raise ServiceError(
                503, "unavailable", f"hybrid: search answered HTTP {reply.status_code}",
                dependency="hybrid", retry_after=1,
            )  # fmt: skip
        return [
            {
                "concept_id": r["concept_id"],
                "content": r["content"],
                "similarity": r["similarity"],
            }
            for r in reply.json().get("results", [])
        ]

    async def concept(self, concept_id: str, limit: int) -> dict[str, Any]:
        try:
            concept = await self.storage.get_concept(concept_id, embedding=False)
            if concept is None:
                raise ServiceError(
                    404, "not_found", f"concept {concept_id} does not exist", field="concept_id"
                )
            neighbors = await self.storage.get_neighbors(concept_id, limit=limit)
            others = await self.storage.get_concepts([n.concept_id for n in neighbors])
        except StorageError as exc:
            raise _storage_error(exc) from None
        return {
            "concept": {
                "id": concept.id,
                "content": concept.content,
                "strength": concept.strength,
                "confidence": concept.confidence,
                "access_count": concept.access_count,
                "created_at": concept.created_at,
                "updated_at": concept.updated_at,
            },
            "neighbors": [
                {
                    "concept_id": n.concept_id,
                    "content": other.content if other is not None else None,
                    "type": n.type.name.lower(),
                    "direction": _DIRECTIONS.get(n.direction, "both"),
                    "confidence": n.confidence,
                    "weight": n.weight,
                }
                for n, other in zip(neighbors, others, strict=True)
            ],
        }


def graph_routes(reader: Callable[[], GraphReader], guard: Any) -> APIRouter:
    """The routes; `reader()` gives the reader the application made at start-up."""
    router = APIRouter(prefix="/api/graph", dependencies=[Depends(guard)], tags=["graph"])

    @router.get("/search")
    async def search(
        q: Annotated[str, Query(min_length=1, max_length=2000, description="text to look for")],
        limit: Annotated[int, Query(ge=1, le=50)] = 10,
    ) -> dict[str, Any]:
        """Concepts whose meaning is closest to `q` (sutra-hybrid's semantic search)."""
        return {"query": q, "results": await reader().search(q, limit)}

    @router.get("/concepts/{concept_id}")
    async def concept(
        concept_id: Annotated[str, Path(pattern=CONCEPT_ID, description="32 hex characters")],
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> dict[str, Any]:
        """A concept and its neighbours with each association's type, direction, confidence."""
        return await reader().concept(concept_id.lower(), limit)

    return router
