"""`sutra bench`: the benchmarks of bench/ that need the whole stack, from the CLI.

`sutra bench faults` runs bench/faults.py of this checkout with the same flags: the bench's
figures are printed by bench/common.py like every other benchmark's, and its phase code is
`sutra.stack.faults`, which tests/resilience imports too.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parents[3] / "bench"


def register(subparsers: Any) -> None:
    bench = subparsers.add_parser(
        "bench",
        help="benchmarks that run against the whole local stack",
        description="Benchmarks of bench/ run from the CLI (a checkout of the repository).",
    )
    commands = bench.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    faults = commands.add_parser(
        "faults",
        help="the stack under load while hybrid and storage freeze, die and slow down",
        description=(
            "Start the stack with `sutra up` (on free ports, data in a temporary folder), put "
            "steady load on the API (/reason, /concepts/{id}, /learn; clients honour "
            "Retry-After), then in turn: freeze hybrid, kill hybrid, freeze storage, kill "
            "storage, slow the network to hybrid. Prints per phase the requests started "
            "during the fault, their error ratio by status, p50/p99/max, the worst overrun of "
            "a route budget and the time to recover after the fault, then the acknowledged "
            "writes lost over all phases, each beside its target. A few minutes with the "
            "defaults."
        ),
    )
    faults.add_argument("--phase-seconds", default="10", help="length of each fault (default: 10)")
    faults.add_argument("--clients", default="8", help="concurrent clients (default: 8)")
    faults.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PHASE",
        help="run only this phase (repeatable): freeze-hybrid, kill-hybrid, freeze-storage, "
        "kill-storage, slow-hybrid",
    )
    faults.set_defaults(func=run_faults)


def bench_module(name: str) -> Any:
    """bench/NAME.py of this checkout, imported with bench/ on the path (for `common`)."""
    if not (BENCH_DIR / f"{name}.py").is_file():
        raise FileNotFoundError(f"{BENCH_DIR / name}.py not found: run from a checkout")
    if str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    return importlib.import_module(name)


def run_faults(args: argparse.Namespace) -> int:
    argv = ["--phase-seconds", args.phase_seconds, "--clients", args.clients]
    for phase in args.only:
        argv += ["--only", phase]
    return int(bench_module("faults").main(argv))
