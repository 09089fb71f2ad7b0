"""POST /reason: a question answered by hybrid, with its reasoning paths, through the cache."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from sutra.api import models as m
from sutra.api.cache import reason_key
from sutra.api.deps import CacheDep, GatewayDep, RequestDeadline
from sutra.api.routers.errors import BODY_ERRORS, errors
from sutra.common import contract as c
from sutra.common.http import ServiceError

router = APIRouter(tags=["reasoning"])

DEGRADED_HEADER = "X-Sutra-Degraded"
_HEADERS = {
    "X-Cache": {
        "description": "`hit` when the answer came from the cache, `stale` when it came from "
        "the cache past its freshness because a dependency was unavailable, else `miss`",
        "schema": {"type": "string", "enum": ["hit", "miss", "stale"]},
    },
    DEGRADED_HEADER: {
        "description": "Only on a degraded answer: the dependency that was unavailable "
        "(`hybrid` or `storage`), so the answer is a stale one from the cache",
        "schema": {"type": "string", "enum": ["hybrid", "storage"]},
    },
}
_OK: dict[str, Any] = {
    "description": "The answer, its confidence and the reasoning paths.",
    "headers": _HEADERS,
}


def reason_answer(query: str, reply: c.QueryResponse) -> m.ReasonResponse:
    """Hybrid's answer in the public names (`paths`, each path's `concepts`)."""
    paths = [
        m.ReasoningPath(
            concepts=p.path,
            concept_ids=p.concept_ids,
            edges=p.edges,
            confidence=p.confidence,
            explanation=p.explanation,
        )
        for p in reply.reasoning_paths
    ]
    return m.ReasonResponse(
        query=query,
        answer=reply.answer,
        confidence=reply.confidence,
        confidence_breakdown=reply.confidence_breakdown,
        paths=paths,
        explanation=reply.explanation,
        concepts_accessed=reply.concepts_accessed,
        answer_type=reply.answer_type,
        status=reply.status,
    )


@router.post(
    "/reason",
    response_model=m.ReasonResponse,
    responses={200: _OK, **errors(*BODY_ERRORS)},
    summary="Answer a question with the reasoning paths that explain the answer",
    description="Repeated questions are answered from a cache (response header "
    "`X-Cache: hit|miss`) until something new is learned. While hybrid or storage is "
    "unavailable, a question answered before is answered from the cache even if stale, "
    f"marked `X-Cache: stale` and `{DEGRADED_HEADER}: <dependency>`.",
)
async def reason(
    body: m.ReasonRequest,
    response: Response,
    deadline: RequestDeadline,
    gw: GatewayDep,
    cache: CacheDep,
) -> m.ReasonResponse:
    key = reason_key(body.query, body.max_steps, body.num_paths, body.threshold)
    cached, generation = await cache.lookup(key)
    if cached is not None:
        gw.metrics.cache_hits.labels(backend=cache.backend).inc()
        return _from_cache(response, "hit", cached, body.query)
    gw.metrics.cache_misses.labels(backend=cache.backend).inc()
    request = c.QueryRequest(
        query=body.query,
        max_depth=body.max_steps,
        max_paths=body.num_paths,
        threshold=body.threshold,
    )
    try:
        reply = await gw.via_hybrid(
            "query",
            lambda t: gw.hybrid.query(request, timeout=t),
            deadline,
            gw.settings.reason_timeout,
        )
    except ServiceError as exc:
        stale = await gw.degraded(key, exc)
        if stale is None or exc.dependency is None:
            raise
        response.headers[DEGRADED_HEADER] = exc.dependency
        return _from_cache(response, "stale", stale, body.query)
    answer = reason_answer(body.query, reply)
    await cache.store(key, answer.model_dump(), generation)
    response.headers["X-Cache"] = "miss"
    return answer


def _from_cache(
    response: Response, how: str, cached: dict[str, Any], query: str
) -> m.ReasonResponse:
    """A cached answer (`hit`, or `stale` while a dependency is down), with this query."""
    response.headers["X-Cache"] = how
    return m.ReasonResponse.model_validate({**cached, "query": query})
