"""POST /semantic-search (through hybrid) and POST /search/vector (straight to storage).

No `from __future__ import annotations` here: FastAPI must see the body model of
`vector_router`'s endpoint itself, a local of the factory, not its name.
"""

import numpy as np
from fastapi import APIRouter
from pydantic import BaseModel

from sutra.api import models as m
from sutra.api.deps import GatewayDep, RequestDeadline
from sutra.api.routers.errors import BODY_ERRORS, errors
from sutra.common import contract as c

router = APIRouter(tags=["search"])


@router.post(
    "/semantic-search",
    response_model=m.SemanticSearchResponse,
    responses=errors(*BODY_ERRORS),
    summary="Concepts whose meaning is closest to a text",
)
async def semantic_search(
    body: m.SemanticSearchRequest, deadline: RequestDeadline, gw: GatewayDep
) -> m.SemanticSearchResponse:
    request = c.SearchRequest(query=body.query, top_k=body.top_k, threshold=body.threshold)
    reply = await gw.via_hybrid(
        "search",
        lambda t: gw.hybrid.search(request, timeout=t),
        deadline,
        gw.settings.hybrid_timeout,
    )
    return m.SemanticSearchResponse(query=body.query, results=reply.results)


def vector_router(vector_request: type[BaseModel]) -> APIRouter:
    """POST /search/vector for the store's vector dimension (known only at start), whose
    body model `vector_request` says it (`sutra.api.models.vector_search_request`)."""
    vectors = APIRouter(tags=["search"])

    @vectors.post(
        "/search/vector",
        response_model=m.VectorSearchResponse,
        responses=errors(*BODY_ERRORS),
        summary="Concepts whose embedding is closest to a vector",
    )
    async def search_vector(
        body: vector_request,  # type: ignore[valid-type]
        deadline: RequestDeadline,
        gw: GatewayDep,
    ) -> m.VectorSearchResponse:
        vector, k = body.vector, body.k  # type: ignore[attr-defined]
        if not np.any(np.asarray(vector, dtype=np.float32)):
            return m.VectorSearchResponse(results=[])  # no direction: nothing is similar to it
        hits = await gw.storage.call(
            "vector_search",
            lambda t: gw.storage.client.vector_search(vector, k, timeout=t),
            deadline,
            field="vector",
        )
        results = [m.VectorHit(concept_id=h.concept_id, similarity=h.similarity) for h in hits]
        return m.VectorSearchResponse(results=results)

    return vectors
