"""`sutra check` and `sutra render`: the manifest gate and its renderer on the command line.

Exit codes: 0 clean, 1 violations found, 2 usage or tool error (one line on stderr, printed
by `sutra.cli` for any error a handler raises).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    check = subparsers.add_parser(
        "check",
        help="render, validate and policy-check tiers",
        description=(
            "Render each tier with kustomize, validate every object against the Kubernetes "
            "schemas (strict) and the CRD schemas, evaluate the Rego policies, and print a "
            "summary per tier followed by each violation."
        ),
    )
    check.add_argument(
        "tiers", nargs="*", metavar="TIER", help="tiers to check (default: every tier of the table)"
    )
    check.add_argument(
        "--kube-version",
        action="append",
        dest="kube_versions",
        metavar="X.Y.Z",
        help="Kubernetes version to validate against (repeatable; default: $SUTRA_KUBE_VERSIONS "
        "or 1.36.0 and 1.37.0)",
    )
    check.add_argument(
        "-q", "--quiet", action="store_true", help="print only violations and the verdict"
    )
    check.set_defaults(func=run_check)

    render = subparsers.add_parser(
        "render",
        help="print a tier's manifests as Argo CD will apply them",
        description="Print the YAML that kustomize renders for one tier, one region overlay "
        "of a tier (REGION/TIER, regions/REGION/TIER), or argocd/.",
    )
    render.add_argument("tier", metavar="TIER", help="a tier of the table, REGION/TIER, or argocd")
    render.set_defaults(func=run_render)


def run_check(args: argparse.Namespace) -> int:
    from sutra.gitops import check

    reports = check.check(list(dict.fromkeys(args.tiers)), args.kube_versions)
    for report in reports:
        if not args.quiet:
            print("\n".join(check.summary(report)))
    for report in reports:
        for violation in report.violations:
            print(violation)
    print(check.verdict(reports))
    return 1 if any(report.violations for report in reports) else 0


def run_render(args: argparse.Namespace) -> int:
    from sutra.gitops import render
    from sutra.gitops.paths import repo_root

    if args.tier == "argocd":
        text = render.kustomize(repo_root() / "argocd")
    elif "/" in args.tier:
        region, _, tier = args.tier.partition("/")
        text = render.kustomize(render.region_dir(region, render.check_tier(tier)))
    else:
        text = render.render_text(args.tier)
    sys.stdout.write(text)
    return 0
