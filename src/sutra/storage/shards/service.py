"""The server side of sharding: which concepts this server holds, and the shard-only RPCs.

A server started with SUTRA_STORAGE_SHARD_COUNT > 1 is shard SUTRA_STORAGE_SHARD of that
map. It records both in `shard.json` in its data directory on first start and refuses to
start under another map (a volume mounted on the wrong shard would otherwise serve the
wrong concepts), refuses writes of concepts it does not own (a router with the shards in
the wrong order fails at its first write, naming the shard), and stores only its own half
of an association whose other endpoint lives on another shard.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sutra.storage import layout
from sutra.storage.errors import FailedPrecondition, InvalidArgument, NotFound
from sutra.storage.ids import format_id
from sutra.storage.limits import MAX_BATCH_IDS
from sutra.storage.settings import StorageSettings
from sutra.storage.shards.map import ShardMap
from sutra.storage.v1 import storage_pb2 as pb

__all__ = ["MAX_BATCH_IDS", "MAX_SCAN", "ShardRole", "neighbors_batch", "scan_edges", "setup"]

IDENTITY_FILE = "shard.json"
MAX_SCAN = 10_000  # halves per ScanEdges page


@dataclass(frozen=True)
class ShardRole:
    index: int
    map: ShardMap

    def __post_init__(self) -> None:
        # Cached: the writer asks for each association endpoint, often the same concepts.
        owner = functools.lru_cache(maxsize=1 << 18)(self.map.owner_raw)
        object.__setattr__(self, "_owner", owner)

    def owns(self, raw_id: bytes) -> bool:
        return self._owner(raw_id) == self.index  # type: ignore[attr-defined]

    def check_write(self, concepts: Sequence[Any], associations: Sequence[Any]) -> None:
        """FAILED_PRECONDITION for a write routed here by a router with another shard map."""
        for concept in concepts:
            if not self.owns(concept.id):
                self._refuse(concept.id)
        for assoc in associations:
            if not (self.owns(assoc.source) or self.owns(assoc.target)):
                self._refuse(assoc.source)

    def _refuse(self, raw_id: bytes) -> None:
        raise FailedPrecondition(
            f"concept {format_id(raw_id)} belongs to shard {self._owner(raw_id)}, this server "  # type: ignore[attr-defined]
            f"is shard {self.index} of map {self.map.version}: the client's shard list is "
            "not in shard order or not this map"
        )

    def status(self) -> pb.ShardStatus:
        return pb.ShardStatus(index=self.index, count=self.map.count, map_version=self.map.version)


def setup(settings: StorageSettings) -> ShardRole | None:
    """This server's shard (None when the store is not sharded), checked against its volume."""
    path = Path(settings.storage_path) / IDENTITY_FILE
    count, index = settings.storage_shard_count, settings.storage_shard
    recorded = json.loads(path.read_text()) if path.exists() else None
    if count == 1:
        if recorded is not None:
            raise FailedPrecondition(
                f"{path}: this store is shard {recorded['index']} of map "
                f"{recorded['map_version']}; set SUTRA_STORAGE_SHARD and SUTRA_STORAGE_SHARD_COUNT"
            )
        return None
    if index >= count:
        raise FailedPrecondition(
            f"SUTRA_STORAGE_SHARD is {index}, outside the {count} shards of "
            "SUTRA_STORAGE_SHARD_COUNT"
        )
    role = ShardRole(index, ShardMap(count))
    mine = {"index": index, "count": count, "map_version": role.map.version}
    if recorded is not None and recorded != mine:
        raise FailedPrecondition(
            f"{path}: this store is shard {recorded['index']} of map {recorded['map_version']}, "
            f"not shard {index} of {role.map.version}"
        )
    if recorded is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(mine) + "\n")
    return role


def neighbors_batch(
    engine: Any, request: pb.GetNeighborsBatchRequest
) -> pb.GetNeighborsBatchResponse:
    """Each concept's neighbours (found=False for a concept not stored here), in order."""
    if len(request.concept_ids) > MAX_BATCH_IDS:
        raise InvalidArgument(
            f"concept_ids holds {len(request.concept_ids)} ids, more than the limit of "
            f"{MAX_BATCH_IDS} per request"
        )
    if request.limit < 0:
        raise InvalidArgument(f"limit must be >= 0, got {request.limit}")
    results = []
    for concept_id in request.concept_ids:
        try:
            found = engine.neighbors(
                concept_id,
                direction=request.direction,
                types=list(request.types),
                limit=request.limit,
            )
        except NotFound:
            results.append(pb.NeighborList(found=False))
            continue
        neighbors = [
            pb.Neighbor(
                concept_id=n.concept_id,
                type=n.type,
                confidence=n.confidence,
                weight=n.weight,
                direction=n.direction,
                label=n.label,
            )
            for n in found
        ]
        results.append(pb.NeighborList(found=True, neighbors=neighbors))
    return pb.GetNeighborsBatchResponse(results=results)


def scan_edges(engine: Any, request: pb.ScanEdgesRequest) -> pb.ScanEdgesResponse:
    """A page of the association halves stored here, after the key `request.after`."""
    limit = request.limit or 1_000
    if not 1 <= limit <= MAX_SCAN:
        raise InvalidArgument(f"limit must be within 0..{MAX_SCAN}, got {request.limit}")
    halves: list[pb.EdgeHalf] = []
    next_key = last = b""
    with engine.env.begin() as txn:
        cursor = txn.cursor(db=engine.dbs.edges)
        if not cursor.set_range(request.after):
            return pb.ScanEdgesResponse()
        for key, _value in cursor:
            if key == request.after:
                continue
            if len(halves) == limit:
                next_key = last
                break
            node, direction, other, kind = layout.split_edge_key(key)
            halves.append(
                pb.EdgeHalf(
                    concept_id=format_id(node),
                    other_id=format_id(other),
                    direction=direction,
                    type=kind,
                )
            )
            last = bytes(key)
    return pb.ScanEdgesResponse(halves=halves, next=next_key)
