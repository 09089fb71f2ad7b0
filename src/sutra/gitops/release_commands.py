"""`sutra promote` and `sutra diff`: moving a release between tiers and reviewing what it does.

Exit codes: 0 done (or nothing to do), 1 the gate found violations, 2 refused or tool error
(one line on stderr, printed by `sutra.cli` for any error a handler raises).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    promote = subparsers.add_parser(
        "promote",
        help="copy the pinned images of one tier into the next, gate, and commit",
        description=(
            "Copy the image pins (tags and digests) of overlay FROM into overlay TO, run the full "
            "gate (render, schemas, policies) on the result and commit it with a message listing "
            "each image old -> new. Tiers move in the order of policies/data/tiers.yaml "
            "(low -> medium -> high ...); nothing but TO's image pins is edited. A failing gate "
            "leaves the tree unchanged. `git push` afterwards is the release."
        ),
    )
    promote.add_argument("source", metavar="FROM", help="tier to copy pins from")
    promote.add_argument("target", metavar="TO", help="tier to pin them in")
    promote.add_argument(
        "--force", action="store_true", help="allow skipping or reversing the tier order"
    )
    promote.add_argument(
        "--dry-run", action="store_true", help="print the change and the diff; write nothing"
    )
    promote.set_defaults(func=run_promote)

    pin = subparsers.add_parser(
        "pin",
        help="pin images of one tier to a newly built tag and digest (used by the image workflow)",
        description=(
            "Set the tag and the digest of images in one overlay, editing nothing else. The "
            "digest is what runs (the manifest the build pushed); the tag is kept for readers. "
            "Meant for the first tier after an image build; later tiers get the same pins "
            "through `sutra promote`. Does not commit."
        ),
    )
    pin.add_argument("tier", metavar="TIER", help="overlay to edit (a tier of the table)")
    pin.add_argument(
        "images",
        metavar="IMAGE=TAG@DIGEST",
        nargs="+",
        help="e.g. storage-server=sha-1a2b3c4@sha256:<64 hex digits> (short names get the "
        "ghcr.io/sutra-ai/ prefix)",
    )
    pin.set_defaults(func=run_pin)

    diff = subparsers.add_parser(
        "diff",
        help="show what a change does to each rendered tier",
        description=(
            "Render every tier at a base revision (in a temporary worktree) and in the working "
            "tree, and print per tier the added, removed and changed objects with a unified diff "
            "of each changed object."
        ),
    )
    diff.add_argument(
        "--base", metavar="REF", help="revision to compare with (default: merge base with main)"
    )
    diff.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="markdown produces a pull-request comment with a collapsed section per tier",
    )
    diff.set_defaults(func=run_diff)


def run_promote(args: argparse.Namespace) -> int:
    import difflib

    from sutra.gitops import check, git, promote
    from sutra.gitops.paths import repo_root

    root = repo_root()
    plan = promote.plan(root, args.source, args.target, force=args.force)
    if not plan.changes:
        print(f"nothing to promote: {args.target} already pins what {args.source} pins")
        return 0
    for change in plan.changes:
        print(change.describe(plan.target))
    if args.dry_run:
        relative = str(plan.path.relative_to(root))
        sys.stdout.writelines(
            difflib.unified_diff(
                plan.old_text.splitlines(keepends=True),
                plan.new_text.splitlines(keepends=True),
                fromfile=f"a/{relative}",
                tofile=f"b/{relative}",
            )
        )
        print("dry run: nothing written")
        return 0
    violations = promote.apply(root, plan, check.gate)
    if violations:
        print(f"promotion {args.source} -> {args.target} refused by the gate; nothing changed:")
        print("\n".join(violations))
        return 1
    commit = git.git(root, "rev-parse", "--short", "HEAD").strip()
    print(f"committed {commit}: promote {args.source} -> {args.target}; `git push` releases it")
    return 0


IMAGE_PREFIX = "ghcr.io/sutra-ai/"


def parse_pin_argument(text: str) -> tuple[str, str, str]:
    """`name=tag@sha256:<64 hex>` -> (image, tag, digest). Both parts are required: the
    digest is the pin every tier must carry (policy image_pinned), the tag names it for readers."""
    from sutra.gitops.images import DIGEST_FORM, check_digest

    name, sep, version = text.partition("=")
    tag, at, digest = version.partition("@")
    if not sep or not name or not tag:
        raise ValueError(f"{text!r} is not IMAGE=TAG@DIGEST")
    if tag == "latest":
        raise ValueError(f"{text!r}: 'latest' is not a pin")
    if not at:
        raise ValueError(f"{text!r} has no digest: give IMAGE=TAG@DIGEST ({DIGEST_FORM})")
    check_digest(digest, repr(text))
    image = name if "/" in name else IMAGE_PREFIX + name
    return image, tag, digest


def run_pin(args: argparse.Namespace) -> int:
    from sutra.gitops.images import Pin, kustomization_path, read_pins, rewrite_pins
    from sutra.gitops.paths import overlay_dir
    from sutra.gitops.render import check_tier

    wanted = [parse_pin_argument(text) for text in args.images]
    overlay = overlay_dir(check_tier(args.tier))
    current = read_pins(overlay)
    pins: dict[str, Pin] = {}
    for image, tag, digest in wanted:
        if image not in current:
            raise ValueError(f"overlays/{args.tier} has no image {image}")
        pins[image] = Pin(image, current[image].new_name, tag, digest)
    path = kustomization_path(overlay)
    path.write_text(rewrite_pins(path.read_text(), pins))
    for image, pin in sorted(pins.items()):
        print(f"{args.tier}: {image} {current[image].version} -> {pin.version}")
    return 0


def run_diff(args: argparse.Namespace) -> int:
    from sutra.gitops import diff
    from sutra.gitops.paths import repo_root

    base, diffs = diff.diff_tiers(repo_root(), args.base)
    formatter = diff.format_markdown if args.format == "markdown" else diff.format_text
    sys.stdout.write(formatter(base, diffs))
    return 0
