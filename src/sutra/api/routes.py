"""The public endpoints. Learning, reasoning and semantic search go through sutra-hybrid;
concept look-ups, vector search and statistics go straight to storage."""

import re
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import Depends, FastAPI, Path, Query, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from sutra import __version__
from sutra.api import models as m
from sutra.api.cache import reason_key
from sutra.api.deadline import Deadline, request_deadline
from sutra.api.gateway import Gateway
from sutra.common.http import ERROR_RESPONSES, ErrorBody, ServiceError, error_response
from sutra.storage.client import AssociationType, Direction

_ERRORS = {
    "400": "The body is not JSON.",
    "404": "Not found; `error.message` says what.",
    "413": "The request body is over the size limit.",
    "422": "A request field is invalid; `error.field` names it.",
    "429": "Rate limited; retry after the `Retry-After` header's seconds.",
    "503": "A dependency is unavailable; `error.dependency` names it; see `Retry-After`.",
    "504": "A dependency did not answer in time; `error.dependency` names it.",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route can answer."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        base = ERROR_RESPONSES.get(code, {"model": ErrorBody})
        out[code] = {**base, "description": _ERRORS[str(code)]}
    return out


_HEX_ID = re.compile(r"^[0-9a-fA-F]{32}$")
DEGRADED_HEADER = "X-Sutra-Degraded"
# The request's deadline, started by DeadlineMiddleware (no parameter in the OpenAPI schema).
RequestDeadline = Annotated[Deadline, Depends(request_deadline)]
_TYPES = {t.value: t.name.lower() for t in AssociationType}
_DIRECTIONS = {Direction.OUTGOING: "outgoing", Direction.INCOMING: "incoming"}


def add_routes(router: FastAPI, gw: Gateway, vector_request: type[BaseModel]) -> None:
    """Register the endpoints on the app itself (an included router costs a second match)."""

    ConceptIdPath = Annotated[
        str,
        Path(
            min_length=32,
            max_length=32,
            pattern=_HEX_ID.pattern,
            description="32 hex characters",
            examples=["3f1c2a7b9d4e5f60718293a4b5c6d7e8"],
        ),
    ]

    # Most frequent first: a request is routed by trying the routes in order.
    @router.get("/health", response_model=m.HealthResponse, tags=["operations"])
    async def health() -> dict[str, Any]:
        """Liveness: the process serves requests (dependencies are not checked)."""
        return {"status": "ok", "version": __version__, "uptime_seconds": gw.uptime()}

    @router.get(
        "/concepts/{concept_id}",
        response_model=m.ConceptResponse,
        response_model_exclude_none=True,
        responses=errors(404, 422, 429, 503, 504),
        tags=["concepts"],
        summary="One concept",
    )
    async def get_concept(
        concept_id: ConceptIdPath, deadline: RequestDeadline, include_embedding: bool = False
    ) -> dict[str, Any]:
        cid = concept_id.lower()
        concept = await gw.storage.call(
            "get_concept",
            lambda t: gw.storage.client.get_concept(cid, embedding=include_embedding, timeout=t),
            deadline,
            field="concept_id",
        )
        if concept is None:
            raise ServiceError(
                404, "not_found", f"concept {cid} does not exist", field="concept_id"
            )
        out: dict[str, Any] = {
            "id": concept.id,
            "content": concept.content,
            "strength": concept.strength,
            "confidence": concept.confidence,
            "created_at": concept.created_at,
            "updated_at": concept.updated_at,
            "access_count": concept.access_count,
        }
        if include_embedding and concept.embedding is not None:
            out["embedding"] = concept.embedding.tolist()
        return out

    @router.get(
        "/concepts/{concept_id}/neighbors",
        response_model=m.NeighborsResponse,
        responses=errors(404, 422, 429, 503, 504),
        tags=["concepts"],
        summary="The concepts a concept is associated with",
    )
    async def get_neighbors(
        concept_id: ConceptIdPath,
        deadline: RequestDeadline,
        direction: Annotated[Literal["both", "outgoing", "incoming"], Query()] = "both",
        type: Annotated[
            list[m.AssociationKind] | None,
            Query(
                max_length=5, description="only these association types; at most 5, one per type"
            ),
        ] = None,
        limit: Annotated[
            int, Query(ge=1, le=1000, description="at most this many neighbours, 1 to 1000")
        ] = 100,
    ) -> dict[str, Any]:
        cid = concept_id.lower()
        wanted = [AssociationType[t.upper()] for t in (type or [])]
        neighbors = await gw.storage.call(
            "get_neighbors",
            lambda t: gw.storage.client.get_neighbors(
                cid,
                direction=Direction[direction.upper()],
                types=wanted,
                limit=limit,
                timeout=t,
            ),
            deadline,
            field="concept_id",
        )
        return {
            "concept_id": cid,
            "neighbors": [
                {
                    "concept_id": n.concept_id,
                    "type": _TYPES[int(n.type)],
                    "confidence": n.confidence,
                    "weight": n.weight,
                    "direction": _DIRECTIONS[n.direction],
                }
                for n in neighbors
            ],
        }

    @router.get(
        "/stats",
        response_model=m.StatsResponse,
        responses=errors(429, 503, 504),
        tags=["concepts"],
        summary="Size of the knowledge store",
    )
    async def stats(deadline: RequestDeadline) -> dict[str, Any]:
        s = await gw.storage.call("stats", lambda t: gw.storage.client.stats(timeout=t), deadline)
        return {
            "concepts": s.concepts,
            "associations": s.associations,
            "vectors": s.vectors,
            "dimension": s.dimension,
            "store_bytes": s.store_bytes,
            "sequence": s.sequence,
            "writes": s.writes,
            "pending": s.pending,
            "storage_uptime_seconds": s.uptime_seconds,
            "last_snapshot_time": s.last_snapshot_time,
        }

    @router.post(
        "/search/vector",
        response_model=m.VectorSearchResponse,
        responses=errors(400, 413, 422, 429, 503, 504),
        tags=["search"],
        summary="Concepts whose embedding is closest to a vector",
    )
    async def search_vector(
        body: vector_request,  # type: ignore[valid-type]
        deadline: RequestDeadline,
    ) -> dict[str, Any]:
        vector, k = body.vector, body.k  # type: ignore[attr-defined]
        if not np.any(np.asarray(vector, dtype=np.float32)):
            return {"results": []}  # no direction: nothing is similar to it
        hits = await gw.storage.call(
            "vector_search",
            lambda t: gw.storage.client.vector_search(vector, k, timeout=t),
            deadline,
            field="vector",
        )
        return {"results": [{"concept_id": h.concept_id, "similarity": h.similarity} for h in hits]}

    @router.post(
        "/reason",
        response_model=m.ReasonResponse,
        responses={
            200: {
                "description": "The answer, its confidence and the reasoning paths.",
                "headers": {
                    "X-Cache": {
                        "description": "`hit` when the answer came from the cache, `stale` "
                        "when it came from the cache past its freshness because a dependency "
                        "was unavailable, else `miss`",
                        "schema": {"type": "string", "enum": ["hit", "miss", "stale"]},
                    },
                    DEGRADED_HEADER: {
                        "description": "Only on a degraded answer: the dependency that was "
                        "unavailable (`hybrid` or `storage`), so the answer is a stale one "
                        "from the cache",
                        "schema": {"type": "string", "enum": ["hybrid", "storage"]},
                    },
                },
            },
            **errors(400, 413, 422, 429, 503, 504),
        },
        tags=["reasoning"],
        summary="Answer a question with the reasoning paths that explain the answer",
        description="Repeated questions are answered from a cache (response header "
        "`X-Cache: hit|miss`) until something new is learned. While hybrid or storage is "
        "unavailable, a question answered before is answered from the cache even if stale, "
        f"marked `X-Cache: stale` and `{DEGRADED_HEADER}: <dependency>`.",
    )
    async def reason(
        body: m.ReasonRequest, response: Response, deadline: RequestDeadline
    ) -> dict[str, Any]:
        key = reason_key(body.query, body.max_steps, body.num_paths, body.threshold)
        cache = gw.cache
        cached, generation = await cache.lookup(key)
        if cached is not None:
            gw.metrics.cache_hits.labels(backend=cache.backend).inc()
            response.headers["X-Cache"] = "hit"
            return {**cached, "query": body.query}
        gw.metrics.cache_misses.labels(backend=cache.backend).inc()
        request = {
            "query": body.query,
            "max_depth": body.max_steps,
            "max_paths": body.num_paths,
            "threshold": body.threshold,
        }
        try:
            result = await gw.via_hybrid(
                "query",
                lambda t: gw.hybrid.query(request, timeout=t),
                deadline,
                gw.settings.reason_timeout,
            )
        except ServiceError as exc:
            stale = await gw.degraded(key, exc)
            if stale is None or exc.dependency is None:
                raise
            response.headers["X-Cache"] = "stale"
            response.headers[DEGRADED_HEADER] = exc.dependency
            return {**stale, "query": body.query}
        answer = _reasoned(body.query, result)
        await cache.store(key, answer, generation)
        response.headers["X-Cache"] = "miss"
        return answer

    @router.post(
        "/semantic-search",
        response_model=m.SemanticSearchResponse,
        responses=errors(400, 413, 422, 429, 503, 504),
        tags=["search"],
        summary="Concepts whose meaning is closest to a text",
    )
    async def semantic_search(
        body: m.SemanticSearchRequest, deadline: RequestDeadline
    ) -> dict[str, Any]:
        request = {"query": body.query, "top_k": body.top_k, "threshold": body.threshold}
        result = await gw.via_hybrid(
            "search",
            lambda t: gw.hybrid.search(request, timeout=t),
            deadline,
            gw.settings.hybrid_timeout,
        )
        return {"query": body.query, "results": result.get("results", [])}

    @router.post(
        "/learn",
        status_code=201,
        response_model=m.LearnResponse,
        responses=errors(400, 413, 422, 429, 503, 504),
        tags=["learning"],
        summary="Teach one fact",
    )
    async def learn(body: m.LearnRequest, deadline: RequestDeadline) -> dict[str, Any]:
        payload = {"text": body.content, "source": body.source, "metadata": body.metadata}
        request = {k: v for k, v in payload.items() if v is not None}
        result = await gw.via_hybrid(
            "learn",
            lambda t: gw.hybrid.learn(request, timeout=t),
            deadline,
            gw.settings.hybrid_timeout,
        )
        await gw.cache.invalidate()
        return _learned(result)

    @router.post(
        "/learn/batch",
        status_code=201,
        response_model=m.LearnBatchResponse,
        responses=errors(400, 413, 422, 429, 503, 504),
        tags=["learning"],
        summary="Teach up to 100 facts in one transaction",
    )
    async def learn_batch(body: m.LearnBatchRequest, deadline: RequestDeadline) -> dict[str, Any]:
        items = [
            {
                k: v
                for k, v in {"text": i.content, "source": i.source, "metadata": i.metadata}.items()
                if v is not None
            }
            for i in body.items
        ]
        result = await gw.via_hybrid(
            "learn_batch",
            lambda t: gw.hybrid.learn_batch({"items": items}, timeout=t),
            deadline,
            gw.settings.hybrid_timeout,
        )
        await gw.cache.invalidate()
        results = [_learned(r) for r in result.get("results", [])]
        concepts = int(result.get("concepts_created", 0))
        associations = int(result.get("associations_created", 0))
        return {
            "results": results,
            "message": f"learned {len(results)} facts: {concepts} new concepts, "
            f"{associations} associations",
            "concepts_created": concepts,
            "associations_created": associations,
        }

    @router.get(
        "/ready",
        response_model=m.ReadyResponse,
        responses=errors(503),
        tags=["operations"],
    )
    async def ready() -> Any:
        """Readiness: storage answers and its circuit breaker is closed. Hybrid's state is
        reported, not required: while it is down this pod still serves reads, stats and cached
        answers, which it could not if Kubernetes took every API pod out of the Service."""
        problems = await gw.readiness()
        if why := problems["storage"]:
            return error_response(
                503,
                "not_ready",
                f"storage: {why.removeprefix('storage: ')}",
                dependency="storage",
                retry_after=max(gw.storage_breaker.retry_after(), 1),
            )
        return {
            "status": "ready",
            "dependencies": {name: why or "ok" for name, why in problems.items()},
            "degraded": sorted(name for name, why in problems.items() if why),
            "breakers": {"storage": gw.storage_guard.report(), "hybrid": gw.hybrid_guard.report()},
        }

    @router.get(
        "/metrics",
        response_class=PlainTextResponse,
        tags=["operations"],
        responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
    )
    async def metrics() -> Response:
        """Prometheus metrics (text exposition format)."""
        return Response(generate_latest(gw.metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _learned(result: dict[str, Any]) -> dict[str, Any]:
    concepts = int(result.get("concepts_created", 0))
    associations = int(result.get("associations_created", 0))
    concept_id = str(result.get("concept_id", ""))
    return {
        "concept_id": concept_id,
        "message": f"learned concept {concept_id}: {concepts} new concepts, "
        f"{associations} associations",
        "concepts_created": concepts,
        "associations_created": associations,
    }


def _reasoned(query: str, result: dict[str, Any]) -> dict[str, Any]:
    breakdown = result.get("confidence_breakdown") or {}
    return {
        "query": query,
        "answer": str(result.get("answer", "")),
        "confidence": float(result.get("confidence", 0.0)),
        "confidence_breakdown": {
            "graph": float(breakdown.get("graph", 0.0)),
            "semantic": float(breakdown.get("semantic", 0.0)),
            "final": float(breakdown.get("final", result.get("confidence", 0.0))),
        },
        "paths": [
            {
                "concepts": list(p.get("path", [])),
                "concept_ids": list(p.get("concept_ids", [])),
                "edges": [
                    {
                        "type": str(e.get("type", "")),
                        "confidence": float(e.get("confidence", 0.0)),
                        "label": str(e.get("label", "")),
                    }
                    for e in p.get("edges", [])
                ],
                "confidence": float(p.get("confidence", 0.0)),
                "explanation": str(p.get("explanation", "")),
            }
            for p in result.get("reasoning_paths", [])
        ],
        "explanation": str(result.get("explanation", "")),
        "concepts_accessed": int(result.get("concepts_accessed", 0)),
        "answer_type": str(result.get("answer_type", "none")),
        "status": str(result.get("status", "answered")),
    }
