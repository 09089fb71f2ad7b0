"""The wire contract between sutra-api and sutra-hybrid: every body that crosses it, once.

Hybrid declares these as its request and response models; the api builds its calls with
them and parses hybrid's replies with them, so a field renamed or retyped on one side is a
validation error in the tests, not a silently missing value in production. The api's public
bodies use the public names (`content`, `max_steps`, `paths`...) and are built from these;
the models both publish unchanged (`SHARED`) have one JSON schema in both OpenAPI documents.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from sutra.common.wire import METADATA_DESCRIPTION, Metadata

ConceptId = Annotated[
    str,
    Field(pattern=r"^[0-9a-f]{32}$", description="32 lower-case hex characters"),
]

# ------------------------------------------------------------------- shared as published


class ConfidenceBreakdown(BaseModel):
    graph: float
    semantic: float
    final: float


class ReasoningEdge(BaseModel):
    type: str = Field(description="the association's type")
    confidence: float = Field(description="the stored association's own confidence")
    label: str = Field("", description="the relation phrase it was learned from ('grew up in')")


class SemanticHit(BaseModel):
    concept_id: ConceptId
    content: str
    similarity: float


class HealthResponse(BaseModel):
    status: Literal["ok"]
    version: str
    uptime_seconds: float


# ------------------------------------------------------------------------------ learning


class LearnRequest(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=10_000,
        examples=["Smoking causes cancer."],
        description="the fact, 1 to 10,000 characters",
    )
    source: str | None = Field(None, max_length=1000, description="at most 1,000 characters")
    metadata: Metadata | None = Field(None, description=METADATA_DESCRIPTION)


class AssociationOut(BaseModel):
    source_id: str
    target_id: str
    type: str
    confidence: float


class LearnResponse(BaseModel):
    concept_id: str
    concepts_created: int
    associations_created: int
    concept_ids: list[str]
    associations: list[AssociationOut]


class LearnBatchRequest(BaseModel):
    items: list[LearnRequest] = Field(
        min_length=1, max_length=100, description="1 to 100 facts, written in one transaction"
    )


class LearnBatchResponse(BaseModel):
    results: list[LearnResponse]
    concepts_created: int
    associations_created: int


# ----------------------------------------------------------------------------- reasoning


class QueryRequest(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=2000,
        examples=["What causes cancer?"],
        description="the question, 1 to 2,000 characters",
    )
    semantic_boost: float = Field(
        0.5, ge=0, le=1, description="b in confidence = graph^(1-b) x semantic^b, 0 to 1"
    )
    max_depth: int = Field(3, ge=1, le=6, description="longest reasoning path in edges, 1 to 6")
    max_paths: int = Field(5, ge=1, le=20, description="reasoning paths to return, 1 to 20")
    threshold: float = Field(0.0, ge=0, le=1, description="lowest path confidence kept, 0 to 1")


class PathOut(BaseModel):
    path: list[str]
    concept_ids: list[str]
    edges: list[ReasoningEdge]
    confidence: float
    explanation: str


class Alternative(BaseModel):
    answer: str
    confidence: float


class QueryResponse(BaseModel):
    query: str
    answer: str
    confidence: float
    confidence_breakdown: ConfidenceBreakdown
    reasoning_paths: list[PathOut]
    semantic_support: list[SemanticHit]
    alternatives: list[Alternative]
    explanation: str
    concepts_accessed: int
    answer_type: str = Field("none", description="entity, yes_no, statement or none")
    status: str = Field("answered", description="answered, unknown or below_threshold")


# -------------------------------------------------------------------------------- search


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2000, description="1 to 2,000 characters")
    top_k: int = Field(10, ge=1, le=100, description="concepts to return, 1 to 100")
    threshold: float = Field(0.0, ge=-1, le=1, description="lowest cosine similarity, -1 to 1")


class SearchResponse(BaseModel):
    query: str
    results: list[SemanticHit]


#: The models both services publish as they are: one JSON schema each in both OpenAPIs
#: (with the error body of `sutra.common.http`).
SHARED: tuple[type[BaseModel], ...] = (
    ConfidenceBreakdown,
    ReasoningEdge,
    SemanticHit,
    HealthResponse,
)
