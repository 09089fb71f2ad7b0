"""Fault bench: the local stack under steady load while hybrid and storage freeze, die, slow down.

    .venv/bin/python bench/faults.py                          # every phase, 10 s faults, 8 clients
    .venv/bin/python bench/faults.py --only kill-storage --phase-seconds 5
    .venv/bin/sutra bench faults --clients 4                  # the same, from the CLI

`sutra up` runs every service (supervised: a killed member is restarted) with the demo set,
rate limits off, and a latency proxy between sutra-api and sutra-hybrid. Clients send a mix of
/reason (demo questions), /concepts/{id} reads and /learn writes, and honour Retry-After. The
phases run in turn: freeze hybrid (SIGSTOP, then SIGCONT), kill hybrid (SIGKILL; the fault
lasts until `sutra up` has it ready again), freeze storage, kill storage, slow hybrid (every
reply 1.5 s late). Per phase, over the requests *started* during the fault: their count, the
share of each status, p50/p99/max latency and the worst overrun of a route budget; then the
time from the fault's end to the first real answer (not a stale one from the cache) of each
kind. At the end every /learn acknowledged (201) in any phase is read back through
/concepts/{id}. The phase code is `sutra.stack.faults`, shared with tests/resilience.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `common`, when run on its own

from common import Row, machine, percentile, table

from sutra.stack.faults import (
    KINDS,
    PHASES,
    SLOW_REPLY_SECONDS,
    Load,
    PhaseResult,
    fault_stack,
    lost_writes,
    run_phase,
    seed,
)

OVERRUN_TARGET = 0.1  # seconds past a route budget


def share_by_status(result: PhaseResult) -> str:
    """`200: 870, 503: 4 (402 stale answers from the cache)`: each status's count."""
    names = {0: "no answer"}
    parts = [f"{names.get(s, s)}: {n}" for s, n in sorted(result.statuses.items())]
    degraded = sum(c.degraded for c in result.calls)
    return ", ".join(parts) + (f" ({degraded} stale answers from the cache)" if degraded else "")


def latency_rows(result: PhaseResult) -> list[Row]:
    seconds = sorted(c.seconds for c in result.calls) or [0.0]
    freeze = result.name.startswith("freeze")
    per_kind = {
        kind: percentile(sorted(c.seconds for c in calls), 99)
        for kind in KINDS
        if (calls := result.of(kind))
    }
    within = all(p99 <= result.budgets[kind] for kind, p99 in per_kind.items())
    p99_note = ", ".join(
        f"{kind} {p99 * 1000:.0f} ms / {result.budgets[kind]:g} s" for kind, p99 in per_kind.items()
    )
    worst = max(result.calls, key=result.overrun, default=None)
    overrun = 0.0 if worst is None else max(0.0, result.overrun(worst))
    return [
        Row(f"{result.name}: p50", seconds[len(seconds) // 2] * 1000, "ms"),
        Row(
            f"{result.name}: p99",
            percentile(seconds, 99) * 1000,
            "ms",
            target="<= route budget" if freeze else "",
            met=within if freeze else None,
            note=f"p99 / budget: {p99_note}",
        ),
        Row(f"{result.name}: max", seconds[-1] * 1000, "ms"),
        Row(
            f"{result.name}: worst overrun of a budget",
            overrun * 1000,
            "ms",
            target=f"<= {OVERRUN_TARGET * 1000:.0f} ms",
            met=overrun <= OVERRUN_TARGET,
            note=(
                f"a {worst.kind} request, answered {worst.status or 'nothing'}"
                if worst is not None and overrun > 0
                else "every request ended within its budget"
            ),
        ),
    ]


def phase_rows(result: PhaseResult) -> list[Row]:
    """The figures of one phase, with the targets beside them."""
    total = len(result.calls)
    errors = sum(not 200 <= c.status < 300 for c in result.calls)
    fault = f"fault {result.end - result.start:.1f} s"
    if result.restarts:
        fault += "; sutra up: " + "; ".join(line.split(" | ")[-1] for line in result.restarts)
    bound = result.breaker_reset + 1
    times = [t for t in result.recovery.values() if t is not None]
    recovery = max(times) if len(times) == len(KINDS) else float("inf")
    return [
        Row(f"{result.name}: requests started during the fault", total, "", note=fault),
        Row(
            f"{result.name}: error ratio",
            100 * errors / max(1, total),
            "%",
            note=share_by_status(result),
        ),
        *latency_rows(result),
        Row(
            f"{result.name}: recovery after the fault",
            recovery,
            "s",
            target=f"<= breaker reset + 1 s ({bound:g} s)",
            met=recovery <= bound,
            note=", ".join(
                f"{kind} {'never' if t is None else f'{t:.2f} s'}"
                for kind, t in result.recovery.items()
            ),
        ),
    ]


def measure(phases: list[str], phase_seconds: float, clients: int) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sutra-faults-") as folder:
        print("starting the stack (sutra up)", flush=True)
        with fault_stack(Path(folder)) as stack:
            ids = seed(stack)
            with Load(stack.api, clients, ids) as load:
                time.sleep(2.0)  # steady load before the first fault
                for phase in phases:
                    print(f"phase {phase}: {phase_seconds:g} s", flush=True)
                    result = run_phase(stack, load, phase, phase_seconds)
                    rows += phase_rows(result)
                    print(table(phase, phase_rows(result)), flush=True)
                    time.sleep(1.0)  # steady again before the next
            lost = lost_writes(stack.api, load.written)
            rows.append(
                Row(
                    "acknowledged writes lost (all phases)",
                    len(lost),
                    "",
                    target="0",
                    met=not lost,
                    note=f"of {len(load.written)} /learn answered 201, read via /concepts/{{id}}",
                )
            )
    return rows


def run(quick: bool = False) -> list[Row]:
    """For bench/run.py: every phase (3 s faults and 4 clients with --quick)."""
    return measure(list(PHASES), 3.0 if quick else 10.0, 4 if quick else 8)


def parser() -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(
        prog="sutra bench faults",
        description=__doc__.split("\n\n")[0]
        + f" Phases: {', '.join(PHASES)}. A slow hybrid replies {SLOW_REPLY_SECONDS:g} s late.",
    )
    out.add_argument("--phase-seconds", type=float, default=10.0, help="length of each fault")
    out.add_argument("--clients", type=int, default=8, help="concurrent clients (default: 8)")
    out.add_argument(
        "--only",
        action="append",
        choices=PHASES,
        metavar="PHASE",
        help=f"run only this phase (repeatable): {', '.join(PHASES)}",
    )
    return out


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    print(f"machine: {machine()}", flush=True)
    started = time.monotonic()
    rows = measure(args.only or list(PHASES), args.phase_seconds, args.clients)
    print(table(f"faults ({time.monotonic() - started:.0f} s)", rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
