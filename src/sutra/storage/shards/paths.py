"""Shortest paths across shards: the single node's bidirectional BFS, a frontier per call.

The search is the engine's own (expand the smaller side one level, stop at the first
meeting, the same depth bound and visit bound), but each level asks every shard for the
neighbours of its part of the frontier in one GetNeighborsBatch call, so a path of depth d
costs about d round trips per shard instead of one per concept. Neighbours come back in
the order the single node reads them, so the path found has the same length, and the same
existence, as the single node's FindPath on the same data.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from sutra.storage.bfs import shortest_path
from sutra.storage.client import Direction, Edge, Neighbor, Path
from sutra.storage.errors import InvalidArgument, NotFound
from sutra.storage.limits import DEFAULT_PATH_DEPTH, MAX_PATH_DEPTH, MAX_PATH_VISITED
from sutra.storage.model import AssociationType
from sutra.storage.v1 import storage_pb2 as pb

if TYPE_CHECKING:
    from sutra.storage.shards.router import ShardedStorageClient

__all__ = ["find_path"]


def find_path(
    router: ShardedStorageClient,
    start_id: str,
    end_id: str,
    *,
    max_depth: int = 0,
    directed: bool = False,
) -> Path | None:
    """The shortest path of at most `max_depth` edges (0: the default, 6), or None."""
    if max_depth < 0 or max_depth > MAX_PATH_DEPTH:
        raise InvalidArgument(f"max_depth must be within 0..{MAX_PATH_DEPTH}, got {max_depth}")
    for concept_id, what in ((start_id, "start"), (end_id, "end")):
        _require(router, concept_id, what)
    nodes = _search(router, start_id, end_id, max_depth or DEFAULT_PATH_DEPTH, directed)
    if nodes is None:
        return None
    concepts = router.get_concepts(nodes, embedding=False)
    return Path([c for c in concepts if c is not None], _edges(router, nodes, directed))


def _require(router: ShardedStorageClient, concept_id: str, what: str) -> None:
    try:
        index = router.map.owner(concept_id)
    except ValueError:
        raise InvalidArgument(f"{what}_id must be 32 hex characters, got {concept_id!r}") from None
    request = pb.GetNeighborsBatchRequest(concept_ids=[concept_id], limit=1)
    if not router.rpc(index, "GetNeighborsBatch", request).results[0].found:
        raise NotFound(f"{what} concept {concept_id} does not exist")


def _search(
    router: ShardedStorageClient, start: str, end: str, depth_limit: int, directed: bool
) -> list[str] | None:
    """The single node's search (sutra.storage.bfs), one level = one batched call per shard."""

    def expand(frontier: list[str], forward: bool) -> dict[str, list[str]]:
        toward = Direction.OUTGOING if forward else Direction.INCOMING
        found = router.neighbors_batch(frontier, direction=toward if directed else Direction.BOTH)
        return {node: [n.concept_id for n in found.get(node, ())] for node in frontier}

    return shortest_path(start, end, depth_limit, expand, MAX_PATH_VISITED)


def _edges(router: ShardedStorageClient, nodes: list[str], directed: bool) -> list[Edge]:
    """The most confident association joining each pair (a -> b first if directed)."""
    direction = Direction.OUTGOING if directed else Direction.BOTH
    found = router.neighbors_batch(nodes[:-1], direction=direction)
    return [_best(a, b, found[a]) for a, b in itertools.pairwise(nodes)]


def _best(a: str, b: str, neighbors: list[Neighbor]) -> Edge:
    best: Edge | None = None
    for n in neighbors:
        if n.concept_id != b:
            continue
        source, target = (a, b) if n.direction == Direction.OUTGOING else (b, a)
        candidate = Edge(source, target, AssociationType(n.type), n.confidence, n.weight)
        if best is None or candidate.confidence > best.confidence:
            best = candidate
    if best is None:  # written between the search and this read: only a concurrent change
        raise NotFound(f"the association between {a} and {b} is no longer stored")
    return best
