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
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sutra.common.logging import log_event
from sutra.storage import layout
from sutra.storage.engine import MoveHook
from sutra.storage.errors import (
    Aborted,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    StorageError,
)
from sutra.storage.ids import InvalidId, format_id, parse_id
from sutra.storage.limits import MAX_BATCH_IDS
from sutra.storage.settings import StorageSettings
from sutra.storage.shards.map import ShardMap, map_version
from sutra.storage.v1 import storage_pb2 as pb

__all__ = [
    "MAX_BATCH_IDS",
    "MAX_SCAN",
    "ShardRole",
    "neighbor_pb",
    "neighbors_batch",
    "scan_edges",
    "setup",
]

log = logging.getLogger("sutra.storage.shards")
IDENTITY_FILE = "shard.json"
MAX_SCAN = 10_000  # halves per ScanEdges page


PHASES = ("", "tracking", "fenced", "cleanup")


class ShardRole(MoveHook):
    """This server's place in the shard map, and the move to a new map it is part of.

    Kept in `shard.json` (written atomically) and changed only by the resharding steps
    (`sutra.storage.shards.transfer.reshard`): `tracking` marks changes of the concepts the new
    map gives to another shard, `fenced` refuses writes of those concepts, the switch serves the
    new map (a source then is in `cleanup` until its moved concepts are deleted).
    """

    def __init__(
        self,
        index: int,
        shard_map: ShardMap,
        *,
        path: Path | None = None,
        epoch: int = 0,
        targets: Sequence[str] = (),
        phase: str = "",
        moving_to: int = 0,
        moved_from: int = 0,
    ) -> None:
        self.index = index
        self.path = path
        self.epoch = epoch
        self.targets = list(targets)
        self.phase = phase
        self.moved_from = moved_from  # the count before the last switch
        self.lock = threading.Lock()  # one resharding step at a time
        self._set_map(shard_map)
        self._set_next(moving_to)

    def _set_map(self, shard_map: ShardMap) -> None:
        self.map = shard_map
        # Cached: the writer asks for each association endpoint, often the same concepts.
        self._owner = functools.lru_cache(maxsize=1 << 18)(shard_map.owner_raw)

    def _set_next(self, count: int) -> None:
        self.moving_to = count
        self._next_owner = (
            functools.lru_cache(maxsize=1 << 18)(ShardMap(count).owner_raw) if count else None
        )

    # ------------------------------------------------------------- the map

    def owns(self, raw_id: bytes) -> bool:
        return self.map.count == 1 or self._owner(raw_id) == self.index

    def check_write(self, concepts: Sequence[Any], associations: Sequence[Any]) -> None:
        """FAILED_PRECONDITION for a write routed here by a router with another shard map."""
        if self.map.count == 1:
            return
        for concept in concepts:
            if not self.owns(concept.id):
                self._refuse(concept.id)
        for assoc in associations:
            if not (self.owns(assoc.source) or self.owns(assoc.target)):
                self._refuse(assoc.source)

    def check_read(self, concept_id: str) -> None:
        """FAILED_PRECONDITION for a read of a concept another shard owns (a stale router's)."""
        self.check_reads((concept_id,))

    def check_reads(self, concept_ids: Sequence[str]) -> None:
        """`check_read` of the ids a batch read did not find: a router that routes by a map
        the shards have left learns it here instead of reading "not found"."""
        if self.map.count == 1:
            return
        for concept_id in concept_ids:
            try:
                raw_id = parse_id(concept_id, "concept_id")
            except InvalidId:
                continue  # the read itself names the bad id
            if not self.owns(raw_id):
                self._refuse(raw_id)

    def _refuse(self, raw_id: bytes) -> None:
        raise FailedPrecondition(
            f"concept {format_id(raw_id)} belongs to shard {self._owner(raw_id)}, this server "
            f"is shard {self.index} of map {self.map.version} (epoch {self.epoch}): the "
            "client's shard list is not in shard order or not this map"
        )

    # ------------------------------------------------------------ the move

    @property
    def active(self) -> bool:  # type: ignore[override]
        return self.phase in ("tracking", "fenced")

    @property
    def fenced(self) -> bool:  # type: ignore[override]
        return self.phase == "fenced"

    def moving(self, raw_id: bytes) -> bool:
        return self._next_owner is not None and self._next_owner(raw_id) != self.index

    def refusal(self, raw_id: bytes) -> StorageError:
        owner = self._next_owner(raw_id) if self._next_owner else "?"
        return Aborted(
            f"concept {format_id(raw_id)} is moving from shard {self.index} to shard {owner} "
            f"(map {map_version(self.moving_to)}); send the write again in a moment"
        )

    def changed(self, **changes: Any) -> bytes:
        """The state after `changes` (count, epoch, targets, phase, moving_to), to be written
        through the engine (`Engine.submit_shard_state`), which applies it with `adopt`."""
        return json.dumps({**self.record(), **changes}).encode()

    def adopt(self, state: bytes) -> None:
        """Take a state written in the store's write order (on the writer, and on each of
        its followers when it replays the log), and keep it in shard.json."""
        record = json.loads(state)
        if record["index"] != self.index:
            raise FailedPrecondition(
                f"a shard state of shard {record['index']} reached shard {self.index}"
            )
        if record["count"] != self.map.count:
            self._set_map(ShardMap(record["count"]))
        if record["moving_to"] != self.moving_to:
            self._set_next(record["moving_to"])
        self.epoch, self.targets, self.phase = record["epoch"], record["targets"], record["phase"]
        self.moved_from = record.get("moved_from", 0)
        self.save()

    def record(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "count": self.map.count,
            "epoch": self.epoch,
            "targets": self.targets,
            "phase": self.phase,
            "moving_to": self.moving_to,
            "moved_from": self.moved_from,
        }

    def save(self) -> None:
        if self.path is None:
            return
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as handle:
            handle.write(json.dumps({**self.record(), "map_version": self.map.version}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)

    @property
    def sharded(self) -> bool:
        """One shard of several, or of a move to several (else GetStats reports no shard)."""
        return self.map.count > 1 or bool(self.phase) or self.epoch > 0

    def status(self, changed: int = 0) -> pb.ShardStatus:
        return pb.ShardStatus(
            index=self.index,
            count=self.map.count,
            map_version=self.map.version,
            epoch=self.epoch,
            targets=self.targets,
            phase=self.phase,
            moving_to=self.moving_to,
            changed=changed,
            moved_from=self.moved_from,
        )


def setup(settings: StorageSettings) -> ShardRole:
    """This server's shard, checked against its volume (an unsharded store: shard 0 of 1).

    The volume's record wins over the environment: a volume of another shard index never
    serves, but once recorded a shard keeps its map (`sutra storage reshard` changes it), so
    raising `storage.shards` in the tier table first only starts the added, empty shards. A
    writer's store that holds data but no record was never sharded: it serves as the only
    shard of a one-shard map until a move grows it (started as shard 0 of N it would own only
    a part of what it holds)."""
    path = Path(settings.storage_path) / IDENTITY_FILE
    count, index = settings.storage_shard_count, settings.storage_shard
    recorded = json.loads(path.read_text()) if path.exists() else None
    if recorded is not None:
        if recorded["index"] != index:
            raise FailedPrecondition(
                f"{path}: this store is shard {recorded['index']} of map "
                f"{recorded['map_version']}, not shard {index}"
            )
        role = _from_record(recorded, path)
        if count != role.map.count and role.map.count > 1:
            log_event(log, "shard_map_recorded", logging.WARNING, recorded=role.map.version,
                      environment=map_version(count))  # fmt: skip
        return role
    unsharded = index == 0 and settings.storage_role == "writer" and _holds_data(path.parent)
    if count == 1 or unsharded:
        if count > 1:
            log_event(log, "store_never_sharded", logging.WARNING, environment=map_version(count))
        return ShardRole(0, ShardMap(1), path=path)  # recorded once a move begins
    if index >= count:
        raise FailedPrecondition(
            f"SUTRA_STORAGE_SHARD is {index}, outside the {count} shards of "
            "SUTRA_STORAGE_SHARD_COUNT"
        )
    role = ShardRole(index, ShardMap(count), path=path)
    path.parent.mkdir(parents=True, exist_ok=True)
    role.save()
    return role


def _holds_data(directory: Path) -> bool:
    data = directory / "data.mdb"
    return data.is_file() and data.stat().st_size > 0


def _from_record(recorded: dict[str, Any], path: Path) -> ShardRole:
    phase = recorded.get("phase", "")
    if phase not in PHASES:
        raise FailedPrecondition(f"{path}: unknown resharding phase {phase!r}")
    return ShardRole(
        recorded["index"],
        ShardMap(recorded["count"]),
        path=path,
        epoch=recorded.get("epoch", 0),
        targets=recorded.get("targets", []),
        phase=phase,
        moving_to=recorded.get("moving_to", 0),
        moved_from=recorded.get("moved_from", 0),
    )


def neighbor_pb(n: Any) -> pb.Neighbor:
    """An engine neighbour (`sutra.storage.reads.Neighbor`) on the wire."""
    return pb.Neighbor(
        concept_id=n.concept_id,
        type=n.type,
        confidence=n.confidence,
        weight=n.weight,
        direction=n.direction,
        label=n.label,
    )


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
        results.append(pb.NeighborList(found=True, neighbors=[neighbor_pb(n) for n in found]))
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
