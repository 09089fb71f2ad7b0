"""`sutra gatekeeper generate` and `sutra alerts generate`: files derived from the rules and the
tier table, kept in the repository so reviewers see them, and rewritten by one command.

Each generator module has `stale(root)` -> [(path, problem)] and `write(root)` -> [changed].
Exit codes: 0 up to date (or written), 1 with --check when a file is stale, 2 when the sources
cannot be turned into files (one line, printed by `sutra.cli`).
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Generated:
    command: str
    module: str  # the generator: stale() and write()
    up_to_date: str  # what --check prints when nothing is stale
    help: str
    description: str
    generate_help: str


GENERATED = (
    Generated(
        "gatekeeper",
        "sutra.gitops.gatekeeper",
        "gatekeeper/ is up to date",
        "generate the Gatekeeper admission policies from policies/",
        "The one-object rules of policies/ (those with an admission.rego) as OPA Gatekeeper "
        "ConstraintTemplates and Constraints in gatekeeper/, for Argo CD to sync to every "
        "tier's cluster.",
        "write gatekeeper/ from policies/, removing files it no longer generates",
    ),
    Generated(
        "alerts",
        "sutra.gitops.tier_alerts",
        "the tier alerts are up to date",
        "generate the per-tier alerts from the tier table",
        "The alerts whose thresholds are a tier's numbers in policies/data/tiers.yaml "
        "(minimum replicas, snapshot age) as overlays/<tier>/tier-alerts.yaml.",
        "write overlays/<tier>/tier-alerts.yaml from policies/data/tiers.yaml",
    ),
)


def register(subparsers: Any) -> None:
    for generated in GENERATED:
        parser = subparsers.add_parser(
            generated.command, help=generated.help, description=generated.description
        )
        actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        generate = actions.add_parser(
            "generate",
            help=generated.generate_help,
            description=generated.generate_help.capitalize() + ".",
        )
        generate.add_argument(
            "--check",
            action="store_true",
            help="write nothing; exit 1 and list the files that are not up to date",
        )
        generate.set_defaults(func=run_generate, generated=generated)


def run_generate(args: argparse.Namespace) -> int:
    generated: Generated = args.generated
    generator = importlib.import_module(generated.module)
    if args.check:
        problems = generator.stale()
        for path, problem in problems:
            print(f"{path} {problem}")
        if problems:
            print(f"run `sutra {generated.command} generate` and commit the result")
            return 1
        print(generated.up_to_date)
        return 0
    changed = generator.write()
    for line in changed:
        print(line)
    if not changed:
        print(generated.up_to_date)
    return 0
