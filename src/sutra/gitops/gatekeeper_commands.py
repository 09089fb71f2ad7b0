"""`sutra gatekeeper generate [--check]`: keep gatekeeper/ in step with policies/.

Exit codes: 0 up to date (or written), 1 with --check when a file is stale, 2 when the policies
cannot be turned into Gatekeeper objects (one line, printed by `sutra.cli`).
"""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gatekeeper",
        help="generate the Gatekeeper admission policies from policies/",
        description=(
            "The one-object rules of policies/ (those with an admission.rego) as OPA Gatekeeper "
            "ConstraintTemplates and Constraints in gatekeeper/, for Argo CD to sync to every "
            "tier's cluster."
        ),
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    generate = actions.add_parser(
        "generate",
        help="write gatekeeper/ from policies/",
        description="Write gatekeeper/ from policies/, removing files it no longer generates.",
    )
    generate.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the files that are not up to date",
    )
    generate.set_defaults(func=run_generate)


def run_generate(args: argparse.Namespace) -> int:
    from sutra.gitops import gatekeeper

    if args.check:
        problems = gatekeeper.stale()
        for path, problem in problems:
            print(f"{path} {problem}")
        if problems:
            print("run `sutra gatekeeper generate` and commit the result")
            return 1
        print(f"{gatekeeper.OUTPUT_DIR}/ is up to date")
        return 0
    changed = gatekeeper.write()
    for line in changed:
        print(line)
    if not changed:
        print(f"{gatekeeper.OUTPUT_DIR}/ is up to date")
    return 0
