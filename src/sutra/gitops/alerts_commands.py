"""`sutra alerts generate [--check]`: keep each overlay's tier-alerts.yaml in step with the table.

Exit codes: 0 up to date (or written), 1 with --check when a file is stale, 2 when the tier
table cannot be turned into alerts (one line, printed by `sutra.cli`).
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "alerts",
        help="generate the per-tier alerts from the tier table",
        description=(
            "The alerts whose thresholds are a tier's numbers in policies/data/tiers.yaml "
            "(minimum replicas, snapshot age) as overlays/<tier>/tier-alerts.yaml."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    generate = actions.add_parser(
        "generate",
        help="write overlays/<tier>/tier-alerts.yaml from policies/data/tiers.yaml",
        description="Write each tier's tier-alerts.yaml from its row of the tier table.",
    )
    generate.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the files that are not up to date",
    )
    generate.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    from sutra.gitops import tier_alerts

    if args.check:
        problems = tier_alerts.stale()
        for path, problem in problems:
            print(f"{path} {problem}")
        if problems:
            print("run `sutra alerts generate` and commit the result")
            return 1
        print("the tier alerts are up to date")
        return 0
    changed = tier_alerts.write()
    for line in changed:
        print(line)
    if not changed:
        print("the tier alerts are up to date")
    return 0
