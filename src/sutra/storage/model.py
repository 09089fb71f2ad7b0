"""The store's data model as its callers see it: plain values, no LMDB, no gRPC.

The engine returns these and the clients rebuild them from the wire, so a concept read in
process and one read through `StorageClient` are the same type.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")


class AssociationType(IntEnum):
    SEMANTIC = 0
    CAUSAL = 1
    TEMPORAL = 2
    HIERARCHICAL = 3
    COMPOSITIONAL = 4


# The association types, by their numeric value on the wire and in the store.
ASSOCIATION_TYPES = ("semantic", "causal", "temporal", "hierarchical", "compositional")


@dataclass(frozen=True)
class Concept:
    id: str
    content: str
    embedding: np.ndarray | None
    strength: float
    confidence: float
    created_at: float
    updated_at: float
    access_count: int


@dataclass(frozen=True)
class Edge:
    source_id: str
    target_id: str
    type: AssociationType
    confidence: float
    weight: float


@dataclass(frozen=True)
class Stats:
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


@dataclass(frozen=True)
class SnapshotInfo:
    path: str
    size_bytes: int
    sha256: str
    sequence: int
    concepts: int
    associations: int
    vectors: int
    created_at: float


def from_message(cls: type[T], message: Any) -> T:
    """A flat dataclass from the protobuf message whose fields have the same names.

    `Stats` and `SnapshotInfo` mirror `GetStatsResponse` and `SnapshotInfo` field for field;
    the other direction is `Message(**dataclasses.asdict(value))`.
    """
    return cls(**{f.name: getattr(message, f.name) for f in fields(cls)})  # type: ignore[arg-type]
