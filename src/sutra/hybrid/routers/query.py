"""POST /sutra/query (multi-path reasoning) and /sutra/search (semantic search)."""

from __future__ import annotations

from fastapi import APIRouter

from sutra.common import contract as c
from sutra.common.http import ERROR_RESPONSES
from sutra.hybrid.deps import Deadline, HybridDep

router = APIRouter()


@router.post("/sutra/query", response_model=c.QueryResponse, responses=ERROR_RESPONSES)
async def query(body: c.QueryRequest, deadline: Deadline, hybrid: HybridDep) -> c.QueryResponse:
    result = await hybrid.run(
        lambda: hybrid.reasoner.query(
            body.query,
            semantic_boost=body.semantic_boost,
            max_depth=body.max_depth,
            max_paths=body.max_paths,
            threshold=body.threshold,
            deadline=deadline,
        ),
        deadline,
    )
    answer = c.QueryResponse.model_validate(result)
    hybrid.metrics.reasoning_paths.observe(len(answer.reasoning_paths))
    hybrid.metrics.concepts_accessed.observe(answer.concepts_accessed)
    return answer


@router.post("/sutra/search", response_model=c.SearchResponse, responses=ERROR_RESPONSES)
async def search(body: c.SearchRequest, deadline: Deadline, hybrid: HybridDep) -> c.SearchResponse:
    results = await hybrid.run(
        lambda: hybrid.reasoner.search(body.query, body.top_k, body.threshold, deadline),
        deadline,
    )
    return c.SearchResponse.model_validate({"query": body.query, "results": results})
