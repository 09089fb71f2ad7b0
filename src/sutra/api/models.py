"""Request and response bodies of the public API; every request model carries an example.

The models are the contract clients see in /docs (those hybrid's answers carry unchanged
come from `sutra.common.contract`), so the limits here are the real ones:
what the schema accepts, the API accepts (checked by property-based tests of the schema).
Every number, list, string and map a request carries has an upper bound, stated in its
description, so no request can ask for unbounded work or memory.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
)

from sutra.common import contract

# Shared with hybrid as they are: one definition, one JSON schema in both services' OpenAPI.
from sutra.common.contract import (
    ConceptId,
    ConfidenceBreakdown,
    ReasoningEdge,
    SemanticHit,
)
from sutra.common.contract import HealthResponse as HealthResponse
from sutra.common.wire import METADATA_DESCRIPTION, Metadata

# Something besides white space: the store refuses blank content. Written as an explicit class
# of the characters Python counts as white space (str.isspace), not as \S, so that the schema's
# ECMA-262 regex, pydantic's and the store's check agree on every input.
NOT_BLANK = r"[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
Text = Annotated[str, Field(min_length=1, max_length=10_000, pattern=NOT_BLANK)]
Query = Annotated[str, Field(min_length=1, max_length=2_000, pattern=NOT_BLANK)]
Source = Annotated[str, Field(max_length=500)]


def _not_bool_or_text(value: Any) -> Any:
    if isinstance(value, bool | str | bytes):
        raise ValueError("Input should be a valid integer")
    return value


# JSON Schema's integer includes 3.0, so integers are validated leniently (3.0 is 3, 3.5 is
# an error) while a boolean or a string is still refused.
Count = Annotated[int, Field(strict=False), BeforeValidator(_not_bool_or_text)]
AssociationKind = Literal["semantic", "causal", "temporal", "hierarchical", "compositional"]

_EXAMPLE_ID = "3f1c2a7b9d4e5f60718293a4b5c6d7e8"


def _example(**example: Any) -> ConfigDict:
    # Strict: `"threshold": false` or `"top_k": "3"` is an error, not a silent coercion, so
    # the API accepts exactly what its schema says.
    return ConfigDict(strict=True, json_schema_extra={"examples": [example]})


# ---------------------------------------------------------------- requests


class LearnRequest(BaseModel):
    model_config = _example(
        content="Smoking causes lung cancer.",
        source="textbook",
        metadata={"chapter": 3},
    )

    content: Text = Field(description="a fact in plain language, 1 to 10,000 characters")
    source: Source | None = Field(
        None, description="where the fact comes from, at most 500 characters"
    )
    metadata: Metadata | None = Field(
        None,
        description=METADATA_DESCRIPTION,
    )

    def to_wire(self) -> contract.LearnRequest:
        """This fact as hybrid's learn item (`content` is hybrid's `text`)."""
        return contract.LearnRequest(text=self.content, source=self.source, metadata=self.metadata)


class LearnBatchRequest(BaseModel):
    model_config = _example(
        items=[
            {"content": "Paris is in France."},
            {"content": "France is a country in Europe.", "source": "atlas"},
        ]
    )

    items: list[LearnRequest] = Field(
        min_length=1, max_length=100, description="1 to 100 facts, learned in one transaction"
    )


class ReasonRequest(BaseModel):
    model_config = _example(
        query="What does smoking cause?", max_steps=3, num_paths=3, threshold=0.3
    )

    query: Query = Field(description="a question in plain language, 1 to 2,000 characters")
    max_steps: Count = Field(
        3,
        ge=1,
        le=6,
        description="longest reasoning path, in edges: 1 to 6 (each step "
        "multiplies the concepts read)",
    )
    num_paths: Count = Field(3, ge=1, le=20, description="reasoning paths to return, 1 to 20")
    threshold: float = Field(0.3, ge=0.0, le=1.0, description="lowest path confidence kept, 0 to 1")


class SemanticSearchRequest(BaseModel):
    model_config = _example(query="lung disease", top_k=5, threshold=0.1)

    query: Query = Field(description="the text to match, 1 to 2,000 characters")
    top_k: Count = Field(10, ge=1, le=100, description="concepts to return, 1 to 100")
    threshold: float = Field(
        0.0, ge=-1.0, le=1.0, description="lowest cosine similarity kept, -1 to 1"
    )


# Embedding components are small numbers; the bound keeps float32 arithmetic finite.
Component = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]


def vector_search_request(dimension: int) -> type[BaseModel]:
    """The /search/vector body for the store's vector dimension (known only at start)."""

    def check_dimension(cls: type[BaseModel], value: list[float]) -> list[float]:
        if len(value) != dimension:
            raise ValueError(
                f"expected {dimension} values (the store's vector dimension), got {len(value)}"
            )
        return value

    example = [round(0.01 * ((i % 7) + 1), 2) for i in range(dimension)]
    return create_model(
        "VectorSearchRequest",
        __config__=ConfigDict(
            strict=True, json_schema_extra={"examples": [{"vector": example, "k": 5}]}
        ),
        __validators__={"check_dimension": field_validator("vector")(classmethod(check_dimension))},
        vector=(
            list[Component],
            Field(
                description=f"a query embedding of exactly {dimension} finite values from -1e6 "
                "to 1e6; a vector without direction (all 0 as float32) is similar to nothing",
                json_schema_extra={"minItems": dimension, "maxItems": dimension},
            ),
        ),
        k=(Count, Field(10, ge=1, le=100, description="concepts to return, 1 to 100")),
    )


# --------------------------------------------------------------- responses


class LearnResponse(BaseModel):
    concept_id: ConceptId
    message: str
    concepts_created: int
    associations_created: int


class LearnBatchResponse(BaseModel):
    results: list[LearnResponse]
    message: str
    concepts_created: int
    associations_created: int


class ReasoningPath(BaseModel):
    concepts: list[str] = Field(description="the concepts' content, start to end")
    concept_ids: list[str]
    edges: list[ReasoningEdge] = Field(description="the associations between them, in order")
    confidence: float
    explanation: str


class ReasonResponse(BaseModel):
    query: str
    answer: str
    confidence: float
    confidence_breakdown: ConfidenceBreakdown
    paths: list[ReasoningPath]
    explanation: str
    concepts_accessed: int
    answer_type: str = Field("none", description="entity, yes_no, statement, or none")
    status: str = Field(
        "answered",
        description="answered; unknown (nothing learned supports an answer); "
        "below_threshold (the answer found is under the requested threshold)",
    )


class SemanticSearchResponse(BaseModel):
    query: str
    results: list[SemanticHit]


class VectorHit(BaseModel):
    concept_id: ConceptId
    similarity: float


class VectorSearchResponse(BaseModel):
    results: list[VectorHit]


class ConceptResponse(BaseModel):
    id: ConceptId
    content: str
    strength: float
    confidence: float
    created_at: float = Field(description="unix seconds")
    updated_at: float = Field(description="unix seconds")
    access_count: int
    embedding: list[float] | None = Field(None, description="with ?include_embedding=true")


class NeighborOut(BaseModel):
    concept_id: ConceptId
    type: AssociationKind
    confidence: float
    weight: float
    direction: Literal["outgoing", "incoming"]


class NeighborsResponse(BaseModel):
    concept_id: ConceptId
    neighbors: list[NeighborOut]


class StatsResponse(BaseModel):
    concepts: int
    associations: int
    vectors: int
    dimension: int
    store_bytes: int
    sequence: int
    writes: int
    pending: int
    storage_uptime_seconds: float
    last_snapshot_time: float


class BreakerReport(BaseModel):
    state: Literal["closed", "open", "half_open"]
    calls: int = Field(description="calls judged: the window's (closed) or the probes' (half-open)")
    failure_rate: float = Field(description="share of those calls that failed")
    slow_call_rate: float = Field(description="share of those calls that were slow")
    retry_after_seconds: float = Field(description="until the breaker lets calls through again")
    in_flight: int = Field(description="calls to the dependency in flight now")
    bulkhead_limit: int = Field(description="most calls in flight at once; more are refused")


class ReadyResponse(BaseModel):
    status: Literal["ready"]
    dependencies: dict[str, str] = Field(
        description='each dependency: "ok", or why it is unavailable'
    )
    degraded: list[str] = Field(
        max_length=2,
        description="dependencies that are down while this pod still serves what it can: "
        "hybrid down means cached answers, reads and stats only",
    )
    breakers: dict[str, BreakerReport]
