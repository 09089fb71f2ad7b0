"""`sutra tiers new NAME --from SOURCE`: add a tier from the tier table's one place.

Exit codes: 0 done, 2 when the tier cannot be added (one line, printed by `sutra.cli`).
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tiers",
        help="add a tier (as a copy of another) to the tier table and the overlays",
        description="The tiers of policies/data/tiers.yaml, the one file that lists them.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
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
