# ruff: noqa
# fmt: off
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AssociationType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSOCIATION_TYPE_SEMANTIC: _ClassVar[AssociationType]
    ASSOCIATION_TYPE_CAUSAL: _ClassVar[AssociationType]
    ASSOCIATION_TYPE_TEMPORAL: _ClassVar[AssociationType]
    ASSOCIATION_TYPE_HIERARCHICAL: _ClassVar[AssociationType]
    ASSOCIATION_TYPE_COMPOSITIONAL: _ClassVar[AssociationType]

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DIRECTION_BOTH: _ClassVar[Direction]
    DIRECTION_OUTGOING: _ClassVar[Direction]
    DIRECTION_INCOMING: _ClassVar[Direction]

class ReshardAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESHARD_ACTION_UNSPECIFIED: _ClassVar[ReshardAction]
    RESHARD_ACTION_BEGIN: _ClassVar[ReshardAction]
    RESHARD_ACTION_FENCE: _ClassVar[ReshardAction]
    RESHARD_ACTION_SWITCH: _ClassVar[ReshardAction]
    RESHARD_ACTION_FINISH: _ClassVar[ReshardAction]
    RESHARD_ACTION_ABORT: _ClassVar[ReshardAction]
ASSOCIATION_TYPE_SEMANTIC: AssociationType
ASSOCIATION_TYPE_CAUSAL: AssociationType
ASSOCIATION_TYPE_TEMPORAL: AssociationType
ASSOCIATION_TYPE_HIERARCHICAL: AssociationType
ASSOCIATION_TYPE_COMPOSITIONAL: AssociationType
DIRECTION_BOTH: Direction
DIRECTION_OUTGOING: Direction
DIRECTION_INCOMING: Direction
RESHARD_ACTION_UNSPECIFIED: ReshardAction
RESHARD_ACTION_BEGIN: ReshardAction
RESHARD_ACTION_FENCE: ReshardAction
RESHARD_ACTION_SWITCH: ReshardAction
RESHARD_ACTION_FINISH: ReshardAction
RESHARD_ACTION_ABORT: ReshardAction

class Concept(_message.Message):
    __slots__ = ("id", "content", "embedding", "strength", "confidence", "created_at", "updated_at", "access_count", "embedding_f32")
    ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    ACCESS_COUNT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_F32_FIELD_NUMBER: _ClassVar[int]
    id: str
    content: str
    embedding: _containers.RepeatedScalarFieldContainer[float]
    strength: float
    confidence: float
    created_at: float
    updated_at: float
    access_count: int
    embedding_f32: bytes
    def __init__(self, id: _Optional[str] = ..., content: _Optional[str] = ..., embedding: _Optional[_Iterable[float]] = ..., strength: _Optional[float] = ..., confidence: _Optional[float] = ..., created_at: _Optional[float] = ..., updated_at: _Optional[float] = ..., access_count: _Optional[int] = ..., embedding_f32: _Optional[bytes] = ...) -> None: ...

class Edge(_message.Message):
    __slots__ = ("source_id", "target_id", "type", "confidence", "weight")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    target_id: str
    type: AssociationType
    confidence: float
    weight: float
    def __init__(self, source_id: _Optional[str] = ..., target_id: _Optional[str] = ..., type: _Optional[_Union[AssociationType, str]] = ..., confidence: _Optional[float] = ..., weight: _Optional[float] = ...) -> None: ...

class LearnConceptRequest(_message.Message):
    __slots__ = ("concept_id", "content", "embedding", "strength", "confidence", "embedding_f32")
    CONCEPT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    STRENGTH_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_F32_FIELD_NUMBER: _ClassVar[int]
    concept_id: str
    content: str
    embedding: _containers.RepeatedScalarFieldContainer[float]
    strength: float
    confidence: float
    embedding_f32: bytes
    def __init__(self, concept_id: _Optional[str] = ..., content: _Optional[str] = ..., embedding: _Optional[_Iterable[float]] = ..., strength: _Optional[float] = ..., confidence: _Optional[float] = ..., embedding_f32: _Optional[bytes] = ...) -> None: ...

class LearnConceptResponse(_message.Message):
    __slots__ = ("concept_id", "sequence", "token")
    CONCEPT_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    concept_id: str
    sequence: int
    token: WriteToken
    def __init__(self, concept_id: _Optional[str] = ..., sequence: _Optional[int] = ..., token: _Optional[_Union[WriteToken, _Mapping]] = ...) -> None: ...

class LearnAssociationRequest(_message.Message):
    __slots__ = ("source_id", "target_id", "type", "confidence", "weight", "label")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    target_id: str
    type: AssociationType
    confidence: float
    weight: float
    label: str
    def __init__(self, source_id: _Optional[str] = ..., target_id: _Optional[str] = ..., type: _Optional[_Union[AssociationType, str]] = ..., confidence: _Optional[float] = ..., weight: _Optional[float] = ..., label: _Optional[str] = ...) -> None: ...

class LearnAssociationResponse(_message.Message):
    __slots__ = ("sequence", "token")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    token: WriteToken
    def __init__(self, sequence: _Optional[int] = ..., token: _Optional[_Union[WriteToken, _Mapping]] = ...) -> None: ...

class LearnBatchRequest(_message.Message):
    __slots__ = ("concepts", "associations")
    CONCEPTS_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATIONS_FIELD_NUMBER: _ClassVar[int]
    concepts: _containers.RepeatedCompositeFieldContainer[LearnConceptRequest]
    associations: _containers.RepeatedCompositeFieldContainer[LearnAssociationRequest]
    def __init__(self, concepts: _Optional[_Iterable[_Union[LearnConceptRequest, _Mapping]]] = ..., associations: _Optional[_Iterable[_Union[LearnAssociationRequest, _Mapping]]] = ...) -> None: ...

class LearnBatchResponse(_message.Message):
    __slots__ = ("concept_ids", "associations", "sequence", "token")
    CONCEPT_IDS_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATIONS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    concept_ids: _containers.RepeatedScalarFieldContainer[str]
    associations: int
    sequence: int
    token: WriteToken
    def __init__(self, concept_ids: _Optional[_Iterable[str]] = ..., associations: _Optional[int] = ..., sequence: _Optional[int] = ..., token: _Optional[_Union[WriteToken, _Mapping]] = ...) -> None: ...

class GetConceptRequest(_message.Message):
    __slots__ = ("concept_id", "skip_embedding", "packed_embedding", "min_sequence")
    CONCEPT_ID_FIELD_NUMBER: _ClassVar[int]
    SKIP_EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    PACKED_EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    MIN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    concept_id: str
    skip_embedding: bool
    packed_embedding: bool
    min_sequence: int
    def __init__(self, concept_id: _Optional[str] = ..., skip_embedding: _Optional[bool] = ..., packed_embedding: _Optional[bool] = ..., min_sequence: _Optional[int] = ...) -> None: ...

class GetConceptResponse(_message.Message):
    __slots__ = ("found", "concept")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    CONCEPT_FIELD_NUMBER: _ClassVar[int]
    found: bool
    concept: Concept
    def __init__(self, found: _Optional[bool] = ..., concept: _Optional[_Union[Concept, _Mapping]] = ...) -> None: ...

class GetConceptsRequest(_message.Message):
    __slots__ = ("concept_ids", "embedding", "min_sequence")
    CONCEPT_IDS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_FIELD_NUMBER: _ClassVar[int]
    MIN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    concept_ids: _containers.RepeatedScalarFieldContainer[str]
    embedding: bool
    min_sequence: int
    def __init__(self, concept_ids: _Optional[_Iterable[str]] = ..., embedding: _Optional[bool] = ..., min_sequence: _Optional[int] = ...) -> None: ...

class GetConceptsResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[GetConceptResponse]
    def __init__(self, results: _Optional[_Iterable[_Union[GetConceptResponse, _Mapping]]] = ...) -> None: ...

class GetNeighborsRequest(_message.Message):
    __slots__ = ("concept_id", "direction", "types", "limit", "min_sequence")
    CONCEPT_ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MIN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    concept_id: str
    direction: Direction
    types: _containers.RepeatedScalarFieldContainer[AssociationType]
    limit: int
    min_sequence: int
    def __init__(self, concept_id: _Optional[str] = ..., direction: _Optional[_Union[Direction, str]] = ..., types: _Optional[_Iterable[_Union[AssociationType, str]]] = ..., limit: _Optional[int] = ..., min_sequence: _Optional[int] = ...) -> None: ...

class Neighbor(_message.Message):
    __slots__ = ("concept_id", "type", "confidence", "weight", "direction", "label")
    CONCEPT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    concept_id: str
    type: AssociationType
    confidence: float
    weight: float
    direction: Direction
    label: str
    def __init__(self, concept_id: _Optional[str] = ..., type: _Optional[_Union[AssociationType, str]] = ..., confidence: _Optional[float] = ..., weight: _Optional[float] = ..., direction: _Optional[_Union[Direction, str]] = ..., label: _Optional[str] = ...) -> None: ...

class GetNeighborsResponse(_message.Message):
    __slots__ = ("neighbors",)
    NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    neighbors: _containers.RepeatedCompositeFieldContainer[Neighbor]
    def __init__(self, neighbors: _Optional[_Iterable[_Union[Neighbor, _Mapping]]] = ...) -> None: ...

class FindPathRequest(_message.Message):
    __slots__ = ("start_id", "end_id", "max_depth", "directed", "min_sequence")
    START_ID_FIELD_NUMBER: _ClassVar[int]
    END_ID_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    DIRECTED_FIELD_NUMBER: _ClassVar[int]
    MIN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    start_id: str
    end_id: str
    max_depth: int
    directed: bool
    min_sequence: int
    def __init__(self, start_id: _Optional[str] = ..., end_id: _Optional[str] = ..., max_depth: _Optional[int] = ..., directed: _Optional[bool] = ..., min_sequence: _Optional[int] = ...) -> None: ...

class FindPathResponse(_message.Message):
    __slots__ = ("found", "concepts", "edges")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    CONCEPTS_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    found: bool
    concepts: _containers.RepeatedCompositeFieldContainer[Concept]
    edges: _containers.RepeatedCompositeFieldContainer[Edge]
    def __init__(self, found: _Optional[bool] = ..., concepts: _Optional[_Iterable[_Union[Concept, _Mapping]]] = ..., edges: _Optional[_Iterable[_Union[Edge, _Mapping]]] = ...) -> None: ...

class VectorSearchRequest(_message.Message):
    __slots__ = ("query_vector", "k", "ef_search", "query_vector_f32", "min_sequence")
    QUERY_VECTOR_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    EF_SEARCH_FIELD_NUMBER: _ClassVar[int]
    QUERY_VECTOR_F32_FIELD_NUMBER: _ClassVar[int]
    MIN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    query_vector: _containers.RepeatedScalarFieldContainer[float]
    k: int
    ef_search: int
    query_vector_f32: bytes
    min_sequence: int
    def __init__(self, query_vector: _Optional[_Iterable[float]] = ..., k: _Optional[int] = ..., ef_search: _Optional[int] = ..., query_vector_f32: _Optional[bytes] = ..., min_sequence: _Optional[int] = ...) -> None: ...

class SearchResult(_message.Message):
    __slots__ = ("concept_id", "similarity")
    CONCEPT_ID_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    concept_id: str
    similarity: float
    def __init__(self, concept_id: _Optional[str] = ..., similarity: _Optional[float] = ...) -> None: ...

class VectorSearchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SearchResult]
    def __init__(self, results: _Optional[_Iterable[_Union[SearchResult, _Mapping]]] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("concepts", "associations", "vectors", "writes", "batches", "commits", "pending", "store_bytes", "uptime_seconds", "last_snapshot_time", "sequence", "dimension", "rejected", "replication", "shard")
    CONCEPTS_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATIONS_FIELD_NUMBER: _ClassVar[int]
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    WRITES_FIELD_NUMBER: _ClassVar[int]
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    COMMITS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    STORE_BYTES_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    LAST_SNAPSHOT_TIME_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REPLICATION_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    concepts: int
    associations: int
    vectors: int
    writes: int
    batches: int
    commits: int
    pending: int
    store_bytes: int
    uptime_seconds: float
    last_snapshot_time: float
    sequence: int
    dimension: int
    rejected: int
    replication: ReplicationStatus
    shard: ShardStatus
    def __init__(self, concepts: _Optional[int] = ..., associations: _Optional[int] = ..., vectors: _Optional[int] = ..., writes: _Optional[int] = ..., batches: _Optional[int] = ..., commits: _Optional[int] = ..., pending: _Optional[int] = ..., store_bytes: _Optional[int] = ..., uptime_seconds: _Optional[float] = ..., last_snapshot_time: _Optional[float] = ..., sequence: _Optional[int] = ..., dimension: _Optional[int] = ..., rejected: _Optional[int] = ..., replication: _Optional[_Union[ReplicationStatus, _Mapping]] = ..., shard: _Optional[_Union[ShardStatus, _Mapping]] = ...) -> None: ...

class ShardStatus(_message.Message):
    __slots__ = ("index", "count", "map_version", "epoch", "targets", "phase", "moving_to", "changed", "moved_from")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MAP_VERSION_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    MOVING_TO_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    MOVED_FROM_FIELD_NUMBER: _ClassVar[int]
    index: int
    count: int
    map_version: str
    epoch: int
    targets: _containers.RepeatedScalarFieldContainer[str]
    phase: str
    moving_to: int
    changed: int
    moved_from: int
    def __init__(self, index: _Optional[int] = ..., count: _Optional[int] = ..., map_version: _Optional[str] = ..., epoch: _Optional[int] = ..., targets: _Optional[_Iterable[str]] = ..., phase: _Optional[str] = ..., moving_to: _Optional[int] = ..., changed: _Optional[int] = ..., moved_from: _Optional[int] = ...) -> None: ...

class ReshardRequest(_message.Message):
    __slots__ = ("action", "count", "epoch", "targets")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    action: ReshardAction
    count: int
    epoch: int
    targets: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, action: _Optional[_Union[ReshardAction, str]] = ..., count: _Optional[int] = ..., epoch: _Optional[int] = ..., targets: _Optional[_Iterable[str]] = ...) -> None: ...

class ReshardResponse(_message.Message):
    __slots__ = ("shard",)
    SHARD_FIELD_NUMBER: _ClassVar[int]
    shard: ShardStatus
    def __init__(self, shard: _Optional[_Union[ShardStatus, _Mapping]] = ...) -> None: ...

class ConceptCopy(_message.Message):
    __slots__ = ("id", "record", "vector", "edges")
    ID_FIELD_NUMBER: _ClassVar[int]
    RECORD_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    id: bytes
    record: bytes
    vector: bytes
    edges: _containers.RepeatedCompositeFieldContainer[EdgeCopy]
    def __init__(self, id: _Optional[bytes] = ..., record: _Optional[bytes] = ..., vector: _Optional[bytes] = ..., edges: _Optional[_Iterable[_Union[EdgeCopy, _Mapping]]] = ...) -> None: ...

class EdgeCopy(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    value: bytes
    def __init__(self, key: _Optional[bytes] = ..., value: _Optional[bytes] = ...) -> None: ...

class ScanMovingRequest(_message.Message):
    __slots__ = ("after", "limit", "changed")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    after: bytes
    limit: int
    changed: bool
    def __init__(self, after: _Optional[bytes] = ..., limit: _Optional[int] = ..., changed: _Optional[bool] = ...) -> None: ...

class ChangeMark(_message.Message):
    __slots__ = ("id", "sequence")
    ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    id: bytes
    sequence: int
    def __init__(self, id: _Optional[bytes] = ..., sequence: _Optional[int] = ...) -> None: ...

class ScanMovingResponse(_message.Message):
    __slots__ = ("copies", "next", "marks", "scanned")
    COPIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    MARKS_FIELD_NUMBER: _ClassVar[int]
    SCANNED_FIELD_NUMBER: _ClassVar[int]
    copies: _containers.RepeatedCompositeFieldContainer[ConceptCopy]
    next: bytes
    marks: _containers.RepeatedCompositeFieldContainer[ChangeMark]
    scanned: int
    def __init__(self, copies: _Optional[_Iterable[_Union[ConceptCopy, _Mapping]]] = ..., next: _Optional[bytes] = ..., marks: _Optional[_Iterable[_Union[ChangeMark, _Mapping]]] = ..., scanned: _Optional[int] = ...) -> None: ...

class AckMovingRequest(_message.Message):
    __slots__ = ("marks",)
    MARKS_FIELD_NUMBER: _ClassVar[int]
    marks: _containers.RepeatedCompositeFieldContainer[ChangeMark]
    def __init__(self, marks: _Optional[_Iterable[_Union[ChangeMark, _Mapping]]] = ...) -> None: ...

class AckMovingResponse(_message.Message):
    __slots__ = ("remaining",)
    REMAINING_FIELD_NUMBER: _ClassVar[int]
    remaining: int
    def __init__(self, remaining: _Optional[int] = ...) -> None: ...

class ImportConceptsRequest(_message.Message):
    __slots__ = ("copies",)
    COPIES_FIELD_NUMBER: _ClassVar[int]
    copies: _containers.RepeatedCompositeFieldContainer[ConceptCopy]
    def __init__(self, copies: _Optional[_Iterable[_Union[ConceptCopy, _Mapping]]] = ...) -> None: ...

class ImportConceptsResponse(_message.Message):
    __slots__ = ("imported", "token")
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    imported: int
    token: WriteToken
    def __init__(self, imported: _Optional[int] = ..., token: _Optional[_Union[WriteToken, _Mapping]] = ...) -> None: ...

class DropMovedRequest(_message.Message):
    __slots__ = ("after", "limit")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    after: bytes
    limit: int
    def __init__(self, after: _Optional[bytes] = ..., limit: _Optional[int] = ...) -> None: ...

class DropMovedResponse(_message.Message):
    __slots__ = ("dropped", "next")
    DROPPED_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    dropped: int
    next: bytes
    def __init__(self, dropped: _Optional[int] = ..., next: _Optional[bytes] = ...) -> None: ...

class GetNeighborsBatchRequest(_message.Message):
    __slots__ = ("concept_ids", "direction", "types", "limit", "min_sequence")
    CONCEPT_IDS_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    MIN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    concept_ids: _containers.RepeatedScalarFieldContainer[str]
    direction: Direction
    types: _containers.RepeatedScalarFieldContainer[AssociationType]
    limit: int
    min_sequence: int
    def __init__(self, concept_ids: _Optional[_Iterable[str]] = ..., direction: _Optional[_Union[Direction, str]] = ..., types: _Optional[_Iterable[_Union[AssociationType, str]]] = ..., limit: _Optional[int] = ..., min_sequence: _Optional[int] = ...) -> None: ...

class NeighborList(_message.Message):
    __slots__ = ("found", "neighbors")
    FOUND_FIELD_NUMBER: _ClassVar[int]
    NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    found: bool
    neighbors: _containers.RepeatedCompositeFieldContainer[Neighbor]
    def __init__(self, found: _Optional[bool] = ..., neighbors: _Optional[_Iterable[_Union[Neighbor, _Mapping]]] = ...) -> None: ...

class GetNeighborsBatchResponse(_message.Message):
    __slots__ = ("results",)
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[NeighborList]
    def __init__(self, results: _Optional[_Iterable[_Union[NeighborList, _Mapping]]] = ...) -> None: ...

class ScanEdgesRequest(_message.Message):
    __slots__ = ("after", "limit")
    AFTER_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    after: bytes
    limit: int
    def __init__(self, after: _Optional[bytes] = ..., limit: _Optional[int] = ...) -> None: ...

class EdgeHalf(_message.Message):
    __slots__ = ("concept_id", "other_id", "direction", "type")
    CONCEPT_ID_FIELD_NUMBER: _ClassVar[int]
    OTHER_ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    concept_id: str
    other_id: str
    direction: Direction
    type: AssociationType
    def __init__(self, concept_id: _Optional[str] = ..., other_id: _Optional[str] = ..., direction: _Optional[_Union[Direction, str]] = ..., type: _Optional[_Union[AssociationType, str]] = ...) -> None: ...

class ScanEdgesResponse(_message.Message):
    __slots__ = ("halves", "next")
    HALVES_FIELD_NUMBER: _ClassVar[int]
    NEXT_FIELD_NUMBER: _ClassVar[int]
    halves: _containers.RepeatedCompositeFieldContainer[EdgeHalf]
    next: bytes
    def __init__(self, halves: _Optional[_Iterable[_Union[EdgeHalf, _Mapping]]] = ..., next: _Optional[bytes] = ...) -> None: ...

class FlushRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class FlushResponse(_message.Message):
    __slots__ = ("sequence",)
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    def __init__(self, sequence: _Optional[int] = ...) -> None: ...

class SnapshotInfo(_message.Message):
    __slots__ = ("path", "size_bytes", "sha256", "sequence", "concepts", "associations", "vectors", "created_at")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CONCEPTS_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATIONS_FIELD_NUMBER: _ClassVar[int]
    VECTORS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    path: str
    size_bytes: int
    sha256: str
    sequence: int
    concepts: int
    associations: int
    vectors: int
    created_at: float
    def __init__(self, path: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., sequence: _Optional[int] = ..., concepts: _Optional[int] = ..., associations: _Optional[int] = ..., vectors: _Optional[int] = ..., created_at: _Optional[float] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ("destination",)
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    destination: str
    def __init__(self, destination: _Optional[str] = ...) -> None: ...

class SnapshotResponse(_message.Message):
    __slots__ = ("info",)
    INFO_FIELD_NUMBER: _ClassVar[int]
    info: SnapshotInfo
    def __init__(self, info: _Optional[_Union[SnapshotInfo, _Mapping]] = ...) -> None: ...

class StreamSnapshotRequest(_message.Message):
    __slots__ = ("chunk_bytes",)
    CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    chunk_bytes: int
    def __init__(self, chunk_bytes: _Optional[int] = ...) -> None: ...

class SnapshotChunk(_message.Message):
    __slots__ = ("header", "data", "trailer")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TRAILER_FIELD_NUMBER: _ClassVar[int]
    header: SnapshotInfo
    data: bytes
    trailer: SnapshotTrailer
    def __init__(self, header: _Optional[_Union[SnapshotInfo, _Mapping]] = ..., data: _Optional[bytes] = ..., trailer: _Optional[_Union[SnapshotTrailer, _Mapping]] = ...) -> None: ...

class SnapshotTrailer(_message.Message):
    __slots__ = ("total_bytes", "sha256")
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    total_bytes: int
    sha256: str
    def __init__(self, total_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class WriteToken(_message.Message):
    __slots__ = ("shard", "sequence")
    SHARD_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    shard: int
    sequence: int
    def __init__(self, shard: _Optional[int] = ..., sequence: _Optional[int] = ...) -> None: ...

class ReplicationStatus(_message.Message):
    __slots__ = ("role", "state", "shard", "address", "applied_sequence", "log_sequence", "lag_entries", "lag_seconds", "writer_address", "ready", "pid")
    ROLE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SHARD_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    APPLIED_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LOG_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    LAG_ENTRIES_FIELD_NUMBER: _ClassVar[int]
    LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    WRITER_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    role: str
    state: str
    shard: int
    address: str
    applied_sequence: int
    log_sequence: int
    lag_entries: int
    lag_seconds: float
    writer_address: str
    ready: bool
    pid: int
    def __init__(self, role: _Optional[str] = ..., state: _Optional[str] = ..., shard: _Optional[int] = ..., address: _Optional[str] = ..., applied_sequence: _Optional[int] = ..., log_sequence: _Optional[int] = ..., lag_entries: _Optional[int] = ..., lag_seconds: _Optional[float] = ..., writer_address: _Optional[str] = ..., ready: _Optional[bool] = ..., pid: _Optional[int] = ...) -> None: ...

class DigestRequest(_message.Message):
    __slots__ = ("min_sequence",)
    MIN_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    min_sequence: int
    def __init__(self, min_sequence: _Optional[int] = ...) -> None: ...

class DigestResponse(_message.Message):
    __slots__ = ("sha256", "sequence", "concepts", "associations")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    CONCEPTS_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATIONS_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    sequence: int
    concepts: int
    associations: int
    def __init__(self, sha256: _Optional[str] = ..., sequence: _Optional[int] = ..., concepts: _Optional[int] = ..., associations: _Optional[int] = ...) -> None: ...
