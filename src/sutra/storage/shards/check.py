"""`sutra storage check`: association halves stored on one endpoint's shard but not the other's.

An association between concepts of two shards is stored as two halves, one on each shard;
a writer that dies between them leaves a half-edge until its client retries. The check
pages through every shard's halves (ScanEdges) and reports each whose mirror is missing.
Exit codes: 0 none, 1 half-edges found, 2 a shard unreachable or misconfigured (one line).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module at start: grpc only when a check runs
    from sutra.storage.shards.router import ShardedStorageClient

__all__ = ["HalfEdge", "half_edges", "register"]

Half = tuple[str, int, str, int]  # (stored under, direction, other end, type)
OUTGOING = 1  # Direction.OUTGOING; its mirror is INCOMING (2)


@dataclass(frozen=True)
class HalfEdge:
    source_id: str
    target_id: str
    type: int
    present_on: int  # the shard that holds a half
    missing_on: int  # the shard that lacks the other


def _halves(router: ShardedStorageClient, index: int) -> set[Half]:
    from sutra.storage.v1 import storage_pb2 as pb

    found: set[Half] = set()
    after = b""
    while True:
        page = router.rpc(index, "ScanEdges", pb.ScanEdgesRequest(after=after, limit=10_000))
        found.update((h.concept_id, h.direction, h.other_id, h.type) for h in page.halves)
        if not page.next:
            return found
        after = page.next


def half_edges(router: ShardedStorageClient) -> list[HalfEdge]:
    """Every association whose half on one endpoint's shard has no mirror on the other's."""
    router.check_shards()
    stored = {i: _halves(router, i) for i in range(len(router.targets))}
    every = set().union(*stored.values())
    missing: list[HalfEdge] = []
    for index, halves in stored.items():
        for node, direction, other, kind in sorted(halves):
            mirror = (other, 3 - direction, node, kind)  # OUTGOING (1) <-> INCOMING (2)
            if mirror in every:
                continue
            source, target = (node, other) if direction == OUTGOING else (other, node)
            missing.append(HalfEdge(source, target, kind, index, router.map.owner(other)))
    return missing


def register(commands: argparse._SubParsersAction, error: Callable[[str, str], int]) -> None:
    check = commands.add_parser(
        "check",
        help="report associations stored on one endpoint's shard but not the other's",
    )
    check.add_argument(
        "--shards",
        default=None,
        metavar="ADDR,ADDR",
        help="every shard in shard order (default: $SUTRA_STORAGE_SHARDS)",
    )
    check.add_argument("--json", action="store_true", help="one JSON object")
    check.add_argument("--timeout", type=float, default=10.0)
    check.set_defaults(func=lambda args: _check(args, error))


def _check(args: argparse.Namespace, error: Callable[[str, str], int]) -> int:
    from sutra.storage.errors import StorageError
    from sutra.storage.shards.router import ShardedStorageClient, shards_from_env

    shards = args.shards.split(",") if args.shards else shards_from_env()
    shards = [s.strip() for s in shards if s.strip()]
    if len(shards) < 2:
        return error("check", "--shards (or SUTRA_STORAGE_SHARDS) must list at least two shards")
    try:
        with ShardedStorageClient(shards, timeout=args.timeout) as router:
            found = half_edges(router)
    except StorageError as exc:
        return error("check", exc.message)
    if args.json:
        print(json.dumps({"shards": len(shards), "half_edges": [asdict(h) for h in found]}))
    else:
        for h in found:
            print(
                f"half-edge {h.source_id} -> {h.target_id} type {h.type}: "
                f"on shard {h.present_on}, missing on shard {h.missing_on}"
            )
        print(f"{len(found)} half-edge(s) across {len(shards)} shards", file=sys.stderr)
    return 1 if found else 0
