"""POST /sutra/learn and /sutra/learn/batch: extract concepts and associations, store them."""

from __future__ import annotations

from fastapi import APIRouter

from sutra.common import contract as c
from sutra.common.http import ERROR_RESPONSES
from sutra.hybrid.deps import Deadline, HybridDep
from sutra.hybrid.learning import LearnItem

router = APIRouter()


@router.post(
    "/sutra/learn", status_code=201, response_model=c.LearnResponse, responses=ERROR_RESPONSES
)
async def learn(body: c.LearnRequest, deadline: Deadline, hybrid: HybridDep) -> c.LearnResponse:
    item = LearnItem(body.text, body.source, body.metadata)
    (result,) = await hybrid.run(lambda: hybrid.learner(deadline).learn([item]), deadline)
    hybrid.metrics.learned.labels("concept").inc(len(result.concept_ids))
    hybrid.metrics.learned.labels("association").inc(len(result.associations))
    return c.LearnResponse.model_validate(result.as_dict())


@router.post(
    "/sutra/learn/batch",
    status_code=201,
    response_model=c.LearnBatchResponse,
    responses=ERROR_RESPONSES,
)
async def learn_batch(
    body: c.LearnBatchRequest, deadline: Deadline, hybrid: HybridDep
) -> c.LearnBatchResponse:
    items = [LearnItem(i.text, i.source, i.metadata) for i in body.items]
    results = await hybrid.run(lambda: hybrid.learner(deadline).learn(items), deadline)
    out = [c.LearnResponse.model_validate(r.as_dict()) for r in results]
    associations = sum(r.associations_created for r in out)
    hybrid.metrics.learned.labels("concept").inc(sum(len(r.concept_ids) for r in out))
    hybrid.metrics.learned.labels("association").inc(associations)
    return c.LearnBatchResponse(
        results=out,
        concepts_created=sum(r.concepts_created for r in out),
        associations_created=associations,
    )
