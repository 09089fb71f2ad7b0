"""POST /learn and /learn/batch: facts taught through hybrid; the answer cache is emptied."""

from __future__ import annotations

from fastapi import APIRouter

from sutra.api import models as m
from sutra.api.deps import CacheDep, GatewayDep, RequestDeadline
from sutra.api.routers.errors import BODY_ERRORS, errors
from sutra.common import contract as c

router = APIRouter(tags=["learning"])


def learned(reply: c.LearnResponse) -> m.LearnResponse:
    concepts, associations = reply.concepts_created, reply.associations_created
    return m.LearnResponse(
        concept_id=reply.concept_id,
        message=f"learned concept {reply.concept_id}: {concepts} new concepts, "
        f"{associations} associations",
        concepts_created=concepts,
        associations_created=associations,
    )


@router.post(
    "/learn",
    status_code=201,
    response_model=m.LearnResponse,
    responses=errors(*BODY_ERRORS),
    summary="Teach one fact",
)
async def learn(
    body: m.LearnRequest, deadline: RequestDeadline, gw: GatewayDep, cache: CacheDep
) -> m.LearnResponse:
    request = body.to_wire()
    reply = await gw.via_hybrid(
        "learn",
        lambda t: gw.hybrid.learn(request, timeout=t),
        deadline,
        gw.settings.hybrid_timeout,
    )
    await cache.invalidate()
    return learned(reply)


@router.post(
    "/learn/batch",
    status_code=201,
    response_model=m.LearnBatchResponse,
    responses=errors(*BODY_ERRORS),
    summary="Teach up to 100 facts in one transaction",
)
async def learn_batch(
    body: m.LearnBatchRequest, deadline: RequestDeadline, gw: GatewayDep, cache: CacheDep
) -> m.LearnBatchResponse:
    request = c.LearnBatchRequest(items=[i.to_wire() for i in body.items])
    reply = await gw.via_hybrid(
        "learn_batch",
        lambda t: gw.hybrid.learn_batch(request, timeout=t),
        deadline,
        gw.settings.hybrid_timeout,
    )
    await cache.invalidate()
    results = [learned(r) for r in reply.results]
    concepts, associations = reply.concepts_created, reply.associations_created
    return m.LearnBatchResponse(
        results=results,
        message=f"learned {len(results)} facts: {concepts} new concepts, "
        f"{associations} associations",
        concepts_created=concepts,
        associations_created=associations,
    )
