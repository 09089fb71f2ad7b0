"""Shortest path by bidirectional breadth-first search, over any neighbour function.

One algorithm for the single store (`EngineReads.find_path`) and the shard router
(`shards.paths`), so both find paths of the same length, and the same existence: expand the
smaller frontier one level, stop at the first meeting, within a depth bound and a visit
bound. `expand(frontier, forward)` gives each frontier node's neighbours in the order the
store reads them; the router answers it with one batched call per shard.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TypeVar

N = TypeVar("N", bound=Hashable)

Expand = Callable[[list[N], bool], Mapping[N, Iterable[N]]]


def shortest_path(
    start: N, end: N, depth_limit: int, expand: Expand[N], max_visited: int
) -> list[N] | None:
    """The nodes of a shortest path from start to end of at most depth_limit edges, or None
    (also when more than max_visited nodes were reached first)."""
    if start == end:
        return [start]
    parents: tuple[dict[N, N | None], dict[N, N | None]] = ({start: None}, {end: None})
    dist: tuple[dict[N, int], dict[N, int]] = ({start: 0}, {end: 0})
    frontiers: list[list[N]] = [[start], [end]]
    depths = [0, 0]
    while frontiers[0] and frontiers[1] and depths[0] + depths[1] < depth_limit:
        side = 0 if len(frontiers[0]) <= len(frontiers[1]) else 1
        other = 1 - side
        found = expand(frontiers[side], side == 0)
        next_frontier: list[N] = []
        meetings: list[N] = []
        for node in frontiers[side]:
            for neighbor in found.get(node, ()):
                if neighbor in parents[side]:
                    continue
                parents[side][neighbor] = node
                dist[side][neighbor] = depths[side] + 1
                next_frontier.append(neighbor)
                if neighbor in parents[other]:
                    meetings.append(neighbor)
        depths[side] += 1
        frontiers[side] = next_frontier
        if meetings:
            meet = min(meetings, key=lambda n: dist[other][n])
            if depths[side] + dist[other][meet] > depth_limit:
                return None
            return _join(parents, meet)
        if len(parents[0]) + len(parents[1]) > max_visited:
            return None
    return None


def _join(parents: tuple[dict[N, N | None], dict[N, N | None]], meet: N) -> list[N]:
    head: list[N] = []
    node: N | None = meet
    while node is not None:
        head.append(node)
        node = parents[0][node]
    head.reverse()
    node = parents[1][meet]
    while node is not None:
        head.append(node)
        node = parents[1][node]
    return head
