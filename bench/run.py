"""Run the benchmarks and print their figures next to same-run baselines.

    .venv/bin/python bench/run.py                      # everything, full size (make bench)
    .venv/bin/python bench/run.py --quick              # small sizes, about a minute
    .venv/bin/python bench/run.py --only vector_search --no-grpc

Benchmarks print figures; they assert nothing about time. A missed target is shown as
"NO" in the table, and the exit code stays 0 unless a benchmark itself failed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the modules import `common`

from common import machine, table

HERE = Path(__file__).resolve().parent
FIRST = ("vector_search", "storage_writes")


def discover() -> list[str]:
    """Every module beside this one that defines ``run(quick=...)``; storage ones first."""
    names = sorted(
        p.stem
        for p in HERE.glob("*.py")
        if p.stem not in {"run", "common"} and "\ndef run(" in p.read_text(encoding="utf-8")
    )
    return [n for n in FIRST if n in names] + [n for n in names if n not in FIRST]


BENCHMARKS = discover()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes for a fast check")
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        help="run only this benchmark (repeatable); default: all",
    )
    parser.add_argument(
        "--no-grpc", action="store_true", help="vector_search: skip the gRPC server part"
    )
    args = parser.parse_args(argv)

    print(f"machine: {machine()}", flush=True)
    results: dict[str, list] = {}
    failed = False
    for name in args.only or BENCHMARKS:
        started = time.perf_counter()
        try:
            module = importlib.import_module(name)
            if name == "vector_search":
                results[name] = module.run(quick=args.quick, grpc=not args.no_grpc)
            else:
                results[name] = module.run(quick=args.quick)
        except Exception:
            failed = True
            traceback.print_exc()
        print(f"{name}: {time.perf_counter() - started:.0f} s\n", flush=True)

    if len(results) > 1:
        print("== summary")
        for name, rows in results.items():
            print(table(name, rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
