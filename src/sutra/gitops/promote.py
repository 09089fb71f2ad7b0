"""Promotion: copy the image pins of one tier into the next, gate the result, commit it.

A release moves low -> medium -> high. The commit touches one file (the target overlay's
kustomization) and lists every image `old -> new`, so `git push` is the release and `git revert`
the roll-back. Anything that would make the step unsafe — a dirty tree, a skipped tier, a gate
failure — stops it before a commit exists, and a gate failure restores the file byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sutra.gitops import git
from sutra.gitops import tiers as tier_table
from sutra.gitops.images import Pin, kustomization_path, read_pins, rewrite_pins
from sutra.gitops.paths import overlay_dir

Gate = Callable[[Path], list[str]]  # repository root -> violation lines (empty when clean)


class PromotionRefused(RuntimeError):
    """The promotion was not attempted: the reason is one line for the user."""


@dataclass(frozen=True)
class Change:
    image: str
    old: Pin | None
    new: Pin

    def describe(self, tier: str) -> str:
        old = self.old.version if self.old else "(not pinned)"
        return f"{tier}: {self.image} {old} -> {self.new.version}"


@dataclass
class Promotion:
    source: str
    target: str
    changes: list[Change]
    path: Path
    old_text: str
    new_text: str

    def message(self) -> str:
        body = "\n".join(c.describe(self.target) for c in self.changes)
        return f"promote {self.source} -> {self.target}\n\n{body}\n"


def check_order(source: str, target: str, force: bool, root: Path | None = None) -> None:
    order = tier_table.names(root)
    for tier in (source, target):
        if tier not in order:
            raise PromotionRefused(f"unknown tier {tier!r} (choose from {', '.join(order)})")
    if source == target:
        raise PromotionRefused(f"cannot promote {source} to itself")
    if force:
        return
    if order.index(target) != order.index(source) + 1:
        raise PromotionRefused(
            f"{source} -> {target} skips or reverses the order {' -> '.join(order)}; "
            "use --force to override"
        )


def plan(root: Path, source: str, target: str, *, force: bool = False) -> Promotion:
    """What promoting would change, without writing anything."""
    check_order(source, target, force, root)
    wanted = read_pins(overlay_dir(source, root))
    if not wanted:
        raise PromotionRefused(f"overlays/{source} pins no images")
    current = read_pins(overlay_dir(target, root))
    changes = [
        Change(name, current.get(name), pin)
        for name, pin in sorted(wanted.items())
        if name not in current or (current[name].tag, current[name].digest) != (pin.tag, pin.digest)
    ]
    path = kustomization_path(overlay_dir(target, root))
    old_text = path.read_text()
    # newName stays as the target has it: only tags and digests move between tiers.
    pins = {
        c.image: Pin(c.image, c.old.new_name if c.old else c.new.new_name, c.new.tag, c.new.digest)
        for c in changes
    }
    new_text = rewrite_pins(old_text, pins) if pins else old_text
    return Promotion(source, target, changes, path, old_text, new_text)


def apply(root: Path, promotion: Promotion, gate: Gate) -> list[str]:
    """Write, gate and commit. Returns the gate's violations (then nothing was changed)."""
    dirty = git.uncommitted(root)
    if dirty:
        shown = ", ".join(dirty[:3]) + (" ..." if len(dirty) > 3 else "")
        raise PromotionRefused(
            f"the working tree has uncommitted changes ({shown}); commit or stash them"
        )
    promotion.path.write_text(promotion.new_text)
    try:
        violations = gate(root)
    except BaseException:
        promotion.path.write_text(promotion.old_text)
        raise
    if violations:
        promotion.path.write_text(promotion.old_text)
        return violations
    relative = str(promotion.path.relative_to(root))
    try:
        git.git(root, "add", "--", relative)
        git.git(root, "commit", "--quiet", "-m", promotion.message(), "--", relative)
    except git.GitError:
        promotion.path.write_text(promotion.old_text)
        git.git(root, "reset", "--quiet", "--", relative)
        raise
    return []
