"""`sutra storage reshard --to N --add ADDR,...`: grow a running sharded store to N shards.

Writes go on during the move; the command shows its progress (a bar on a terminal, a line
every few seconds otherwise) and ends with the figures of the move. Stopped anywhere, it
finishes the move when run again with the same arguments (docs/storage-sharding.md).
Exit codes: 0 moved (or nothing left to move), 2 a usage or shard error (one line).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

__all__ = ["register"]

DEFAULT_STATE = Path(".sutra-reshard.json")


def register(commands: Any, error: Callable[[str, str], int]) -> None:
    reshard = commands.add_parser(
        "reshard",
        help="grow a running sharded store to more shards, with writes going on",
        description=(
            "Move the concepts the new shard map gives to the added shards: copy them, copy "
            "again what was written meanwhile, fence, switch every shard to the new map, then "
            "delete the moved concepts from their old shards. Reads and writes go on "
            "throughout (a write of a moving concept waits a moment during the fence). Run "
            "it again to finish a move that was stopped."
        ),
    )
    reshard.add_argument("--to", type=int, required=True, metavar="N", help="shards after")
    reshard.add_argument(
        "--add",
        default=None,
        metavar="ADDR,ADDR",
        help=(
            "host:port of each added shard server (started as SUTRA_STORAGE_SHARD=i of N); "
            "default: the listed shards beyond the map the first one serves"
        ),
    )
    reshard.add_argument(
        "--shards",
        default=None,
        metavar="ADDR,ADDR",
        help="the shards in shard order (default: $SUTRA_STORAGE_SHARDS)",
    )
    reshard.add_argument(
        "--state",
        type=Path,
        default=DEFAULT_STATE,
        metavar="FILE",
        help=f"where the copy's progress is kept for a resumed run (default {DEFAULT_STATE})",
    )
    reshard.add_argument(
        "--grace",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="wait after the switch before the old shards delete what moved (default 10)",
    )
    reshard.add_argument("--page", type=int, default=1_000, help="concepts per copy page")
    reshard.add_argument("--timeout", type=float, default=30.0, help="seconds per shard call")
    reshard.add_argument("--json", action="store_true", help="the summary as one JSON object")
    reshard.set_defaults(func=lambda args: _run(args, error))


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _run(args: argparse.Namespace, error: Callable[[str, str], int]) -> int:
    from sutra.storage.errors import StorageError
    from sutra.storage.shards.reshard import MoveError, Reshard, plan_for, served_count
    from sutra.storage.shards.router import shards_from_env

    listed = _split(args.shards) if args.shards is not None else shards_from_env()
    if not listed:
        return error("reshard", "no current shards: give --shards or set SUTRA_STORAGE_SHARDS")
    if not 1 <= args.page <= 10_000:
        return error("reshard", f"--page must be within 1..10000, got {args.page}")
    if args.grace < 0:
        return error("reshard", f"--grace must be >= 0, got {args.grace}")
    display = _Display(sys.stderr)
    try:
        if args.add is None:  # the shard list of the raised tier table: old ones first
            served = served_count(listed[0], len(listed), args.timeout)
            sources, added = listed[:served], listed[served:]
        else:
            sources, added = listed, _split(args.add)
        plan = plan_for(sources, added, args.to, args.timeout)
        move = Reshard(
            plan,
            state_file=args.state,
            grace=args.grace,
            page=args.page,
            timeout=args.timeout,
            on_progress=display.show,
        )
        try:
            progress = move.run()
        finally:
            move.close()
    except (MoveError, StorageError) as exc:
        display.close()
        return error("reshard", getattr(exc, "message", None) or str(exc))
    display.close()
    summary = {
        "shards": plan.count,
        "epoch": plan.epoch,
        "copied": progress.copied,
        "dropped": progress.dropped,
        "seconds": round(progress.seconds, 3),
        "concepts_per_second": round(progress.rate, 1),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"moved to {plan.count} shards (epoch {plan.epoch}): {progress.copied} concepts "
            f"copied, {progress.dropped} deleted from their old shards, in "
            f"{progress.seconds:.1f} s ({progress.rate:.0f} concepts/s)"
        )
    return 0


class _Display:
    """A bar redrawn in place on a terminal; a line per phase and every 5 s otherwise."""

    def __init__(self, out: IO[str], interval: float = 5.0) -> None:
        self.out = out
        self.tty = out.isatty()
        self.interval = interval
        self.last = 0.0
        self.phase = ""

    def show(self, progress: Any) -> None:
        total = max(progress.total, 1)
        text = (
            f"{progress.phase}: {progress.scanned}/{progress.total} concepts looked at, "
            f"{progress.copied} copied ({progress.rate:.0f}/s), {progress.dropped} deleted"
        )
        if self.tty:
            filled = min(30, int(30 * progress.scanned / total))
            self.out.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}\x1b[K")
            self.out.flush()
        elif progress.phase != self.phase or time.monotonic() - self.last >= self.interval:
            self.last = time.monotonic()
            print(text, file=self.out, flush=True)
        self.phase = progress.phase

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()
