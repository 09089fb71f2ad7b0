"""GET /concepts/{id}, /concepts/{id}/neighbors and /stats: read straight from storage."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from starlette.types import Scope

from sutra.api import models as m
from sutra.api.deps import GatewayDep, RequestDeadline
from sutra.api.lean import serve_lean
from sutra.api.routers.errors import errors
from sutra.common.http import ServiceError
from sutra.storage.client import AssociationType, Direction

router = APIRouter(tags=["concepts"])

_HEX_ID = re.compile(r"^[0-9a-fA-F]{32}$")
_HEX_ID_EXACT = re.compile(r"[0-9a-fA-F]{32}")  # fullmatch: no newline slips past `$`
# The query strings of a plain read, and the include_embedding each means.
_PLAIN_QUERIES = {
    b"": False,
    b"include_embedding=false": False,
    b"include_embedding=true": True,
}
_TYPES = {t.value: t.name.lower() for t in AssociationType}
_DIRECTIONS = {Direction.OUTGOING: "outgoing", Direction.INCOMING: "incoming"}

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


@router.get(
    "/concepts/{concept_id}",
    response_model=m.ConceptResponse,
    response_model_exclude_none=True,
    responses=errors(404, 422, 429, 503, 504),
    summary="One concept",
)
async def get_concept(
    concept_id: ConceptIdPath,
    deadline: RequestDeadline,
    gw: GatewayDep,
    include_embedding: bool = False,
) -> m.ConceptResponse:
    cid = concept_id.lower()
    concept = await gw.storage.call(
        "get_concept",
        lambda t: gw.storage.client.get_concept(cid, embedding=include_embedding, timeout=t),
        deadline,
        field="concept_id",
    )
    if concept is None:
        raise ServiceError(404, "not_found", f"concept {cid} does not exist", field="concept_id")
    embedding = concept.embedding if include_embedding else None
    return m.ConceptResponse(
        id=concept.id,
        content=concept.content,
        strength=concept.strength,
        confidence=concept.confidence,
        created_at=concept.created_at,
        updated_at=concept.updated_at,
        access_count=concept.access_count,
        embedding=None if embedding is None else embedding.tolist(),
    )


def plain_read(scope: Scope) -> dict[str, Any] | None:
    """A read with a well-formed id and no query but include_embedding=true|false: served
    by the lean handler (sutra.api.lean); FastAPI's handler validates every other one."""
    embedding = _PLAIN_QUERIES.get(scope["query_string"])
    concept_id = scope["path_params"].get("concept_id", "")
    if embedding is None or _HEX_ID_EXACT.fullmatch(concept_id) is None:
        return None
    return {"concept_id": concept_id, "include_embedding": embedding}


serve_lean(router, "/concepts/{concept_id}", plain_read)


@router.get(
    "/concepts/{concept_id}/neighbors",
    response_model=m.NeighborsResponse,
    responses=errors(404, 422, 429, 503, 504),
    summary="The concepts a concept is associated with",
)
async def get_neighbors(
    concept_id: ConceptIdPath,
    deadline: RequestDeadline,
    gw: GatewayDep,
    direction: Annotated[Literal["both", "outgoing", "incoming"], Query()] = "both",
    type: Annotated[
        list[m.AssociationKind] | None,
        Query(max_length=5, description="only these association types; at most 5, one per type"),
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
            cid, direction=Direction[direction.upper()], types=wanted, limit=limit, timeout=t
        ),
        deadline,
        field="concept_id",
    )
    out = [
        {
            "concept_id": n.concept_id,
            "type": _TYPES[int(n.type)],
            "confidence": n.confidence,
            "weight": n.weight,
            "direction": _DIRECTIONS[n.direction],
        }
        for n in neighbors
    ]
    return {"concept_id": cid, "neighbors": out}


@router.get(
    "/stats",
    response_model=m.StatsResponse,
    responses=errors(429, 503, 504),
    summary="Size of the knowledge store",
)
async def stats(deadline: RequestDeadline, gw: GatewayDep) -> m.StatsResponse:
    s = await gw.storage.call("stats", lambda t: gw.storage.client.stats(timeout=t), deadline)
    return m.StatsResponse(
        concepts=s.concepts,
        associations=s.associations,
        vectors=s.vectors,
        dimension=s.dimension,
        store_bytes=s.store_bytes,
        sequence=s.sequence,
        writes=s.writes,
        pending=s.pending,
        storage_uptime_seconds=s.uptime_seconds,
        last_snapshot_time=s.last_snapshot_time,
    )
