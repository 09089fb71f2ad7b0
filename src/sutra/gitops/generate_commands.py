"""`sutra gatekeeper|alerts|argocd|docs generate`, and `sutra generate` for all of them: files
derived from the rules and the tier table, kept in the repository so reviewers see them, and
rewritten by one command.

Each generator module has `FILES`, a `sutra.gitops.generated.FileSet`.
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
    module: str  # the generator: its FILES
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
    Generated(
        "shards",
        "sutra.gitops.shard_files",
        "the storage shards are up to date",
        "generate each sharded tier's storage shards from the tier table",
        "Per tier with storage.shards > 1 in policies/data/tiers.yaml, the Component "
        "overlays/<tier>/storage-shards/: shard 0's store copied for every other shard, and "
        "the readers pointed at all of them.",
        "write overlays/<tier>/storage-shards/",
    ),
    Generated(
        "argocd",
        "sutra.gitops.argocd_files",
        "the Argo CD tier clusters are up to date",
        "generate the Argo CD files that list tier clusters from the tier table",
        "The admission Application of every tier cluster and the projects' destinations "
        "(argocd/admission-applications.yaml, argocd/destinations.yaml) from "
        "policies/data/tiers.yaml.",
        "write argocd/admission-applications.yaml and argocd/destinations.yaml",
    ),
    Generated(
        "regions",
        "sutra.gitops.region_files",
        "the region overlays are up to date",
        "generate the region overlays from the tier table's regions",
        "Per region components/regions/<region>/ (storage class, zones) and per region and "
        "tier regions/<region>/<tier>/kustomization.yaml, from the regions of "
        "policies/data/tiers.yaml.",
        "write components/regions/<region>/ and regions/<region>/<tier>/",
    ),
    Generated(
        "docs",
        "sutra.gitops.tier_docs",
        "the documents' tier tables are up to date",
        "generate the tier tables of README.md and base/README.md",
        "The blocks between <!-- BEGIN name --> and <!-- END name --> markers in README.md and "
        "base/README.md, from policies/data/tiers.yaml.",
        "rewrite the generated blocks of the documents",
    ),
)


def files(generated: Generated) -> Any:
    return importlib.import_module(generated.module).FILES


def _check_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and list the files that are not up to date",
    )


def register(subparsers: Any) -> None:
    every = subparsers.add_parser(
        "generate",
        help="regenerate every generated file (gatekeeper/, alerts, shards, Argo CD, regions, "
        "docs)",
        description="Run every `sutra X generate` in turn; with --check, write nothing.",
    )
    _check_flag(every)
    every.set_defaults(func=run_generate_all)
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
        _check_flag(generate)
        generate.set_defaults(func=run_generate, generated=generated)


def run_generate_all(args: argparse.Namespace) -> int:
    codes = [_run(generated, args.check) for generated in GENERATED]
    return max(codes)


def run_generate(args: argparse.Namespace) -> int:
    return _run(args.generated, args.check)


def _run(generated: Generated, check: bool) -> int:
    from sutra.gitops.paths import repo_root

    generator, root = files(generated), repo_root()
    if check:
        problems = generator.stale(root)
        for path, problem in problems:
            print(f"{path} {problem}")
        if problems:
            print(f"run `sutra {generated.command} generate` and commit the result")
            return 1
        print(generated.up_to_date)
        return 0
    changed = generator.write(root)
    for line in changed:
        print(line)
    if not changed:
        print(generated.up_to_date)
    return 0
