"""`sutra tiers [report]`: each tier's size and monthly cost against the range of the tier
table; `sutra tiers new NAME --from SOURCE`: add a tier from the tier table's one place.

Exit codes: 0 done, 2 when the tier cannot be added or the report cannot be made (one line,
printed by `sutra.cli`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tiers",
        help="report each tier's size and cost, or add a tier (as a copy of another)",
        description=(
            "The tiers of policies/data/tiers.yaml, the one file that lists them. Without an "
            "ACTION: the sizing and cost report of every tier (`sutra tiers report`)."
        ),
    )
    parser.set_defaults(func=run_report, tiers=[], json=False)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    report = actions.add_parser(
        "report",
        help="per tier and workload: pods, requests, limits, volumes, monthly cost estimate",
        description=(
            "Render each tier and print per workload its minimum and maximum pods, the CPU and "
            "memory requested and limited at both, its volumes, and a monthly cost estimate "
            "priced on requests with policies/data/prices.yaml (an estimate, not a quote), "
            "compared with the tier's cost_usd_month range in the tier table."
        ),
    )
    report.add_argument(
        "tiers", nargs="*", metavar="TIER", help="tiers to report (default: every tier)"
    )
    report.add_argument("--json", action="store_true", help="print the report as JSON")
    report.set_defaults(func=run_report)
    new = actions.add_parser(
        "new",
        help="add tier NAME as a copy of tier SOURCE: its table row and its overlay",
        description=(
            "Copy SOURCE's row of policies/data/tiers.yaml (and its per-tier entries) as NAME, "
            "after the last tier; copy overlays/SOURCE to overlays/NAME with its names changed; "
            "regenerate the tier alerts, the Argo CD tier clusters and the documents' tables. "
            "Then edit NAME's numbers in the table and its overlay patches, regenerate "
            "(`sutra generate`) and run `sutra check`."
        ),
    )
    new.add_argument("name", metavar="NAME", help="the new tier, e.g. xl")
    new.add_argument("--from", dest="source", metavar="SOURCE", required=True)
    new.set_defaults(func=run_new)


def run_new(args: argparse.Namespace) -> int:
    from sutra.gitops.paths import repo_root
    from sutra.gitops.tier_new import new_tier

    for line in new_tier(repo_root(), args.name, args.source):
        print(line)
    print(
        f"edit tier {args.name} in policies/data/tiers.yaml and overlays/{args.name}/, then run "
        "`sutra generate` and `sutra check`"
    )
    return 0


def run_report(args: argparse.Namespace) -> int:
    from sutra.gitops import sizing, sizing_report

    sizes = sizing.size_tiers(list(dict.fromkeys(args.tiers)))
    if args.json:
        print(json.dumps(sizing_report.as_json(sizes), indent=2))
    else:
        print("\n".join(sizing_report.text(sizes)))
    return 0
