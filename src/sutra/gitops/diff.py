"""What a change does to each tier: rendered objects at a base revision against the working tree.

Reviewers read rendered output, not kustomize patches: an innocent-looking base edit can change
every tier, and a tier-local patch only one. Objects are keyed by (group, kind, namespace, name)
and each changed object is shown as a unified diff of its YAML with sorted keys, so the output is
stable from run to run.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sutra.gitops import git
from sutra.gitops import tiers as tier_table
from sutra.gitops.render import RenderError, render_tier

ObjectKey = tuple[str, str, str, str]  # group, kind, namespace, name
Renderer = Callable[[str, Path], list[dict[str, Any]]]


def object_key(obj: dict[str, Any]) -> ObjectKey:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    meta = obj.get("metadata") or {}
    return (
        group,
        str(obj.get("kind", "")),
        str(meta.get("namespace", "")),
        str(meta.get("name", "")),
    )


def label(key: ObjectKey) -> str:
    _, kind, namespace, name = key
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def to_yaml(obj: dict[str, Any]) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, width=1000)


@dataclass
class TierDiff:
    tier: str
    added: list[ObjectKey] = field(default_factory=list)
    removed: list[ObjectKey] = field(default_factory=list)
    changed: dict[ObjectKey, str] = field(default_factory=dict)  # key -> unified diff

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def summary(self) -> str:
        return (
            f"{self.tier}: {len(self.changed)} changed, {len(self.added)} added, "
            f"{len(self.removed)} removed"
        )


def diff_objects(
    tier: str, before: Iterable[dict[str, Any]], after: Iterable[dict[str, Any]], base_label: str
) -> TierDiff:
    old = {object_key(o): o for o in before}
    new = {object_key(o): o for o in after}
    result = TierDiff(
        tier, added=sorted(new.keys() - old.keys()), removed=sorted(old.keys() - new.keys())
    )
    for key in sorted(old.keys() & new.keys()):
        if old[key] == new[key]:
            continue
        name = f"{tier}/{label(key)}"
        result.changed[key] = "".join(
            difflib.unified_diff(
                to_yaml(old[key]).splitlines(keepends=True),
                to_yaml(new[key]).splitlines(keepends=True),
                fromfile=f"{base_label}:{name}",
                tofile=f"working tree:{name}",
            )
        )
    return result


def _render_or_empty(render: Renderer, tier: str, root: Path) -> list[dict[str, Any]]:
    """A tier missing at one side (added or deleted overlay) diffs against nothing."""
    if not (root / "overlays" / tier).is_dir():
        return []
    return render(tier, root)


def diff_tiers(
    root: Path,
    base_ref: str | None = None,
    tiers: Iterable[str] | None = None,
    render: Renderer = render_tier,
) -> tuple[str, list[TierDiff]]:
    """Render `tiers` at `base_ref` (default: merge base with main) and in the working tree."""
    commit = git.resolve(root, base_ref) if base_ref else git.default_base(root)
    short = commit[:12]
    tiers = list(tiers) if tiers is not None else list(tier_table.names(root))
    with git.worktree(root, commit) as base_tree:
        try:
            before = {tier: _render_or_empty(render, tier, base_tree) for tier in tiers}
        except RenderError as exc:
            raise RenderError(f"at {short}: {exc}") from exc
    after = {tier: _render_or_empty(render, tier, root) for tier in tiers}
    return short, [diff_objects(t, before[t], after[t], short) for t in tiers]


def format_text(base: str, diffs: list[TierDiff]) -> str:
    out: list[str] = []
    for d in diffs:
        out.append(d.summary())
        out.extend(f"  + {label(k)}" for k in d.added)
        out.extend(f"  - {label(k)}" for k in d.removed)
        out.extend(f"  ~ {label(k)}" for k in d.changed)
    for d in diffs:
        for text in d.changed.values():
            out.append("")
            out.append(text.rstrip("\n"))
    out.append("")
    out.append(f"compared with {base}")
    return "\n".join(out) + "\n"


def format_markdown(base: str, diffs: list[TierDiff]) -> str:
    """A pull-request comment: a summary line per tier, details collapsed per tier."""
    out = [
        "### Rendered changes per tier",
        "",
        f"Compared with `{base}` (rendered with kustomize, as Argo CD will apply them).",
        "",
    ]
    for d in diffs:
        if d.empty:
            out.append(f"- **{d.tier}**: no change")
            continue
        out.append("<details>")
        out.append(f"<summary><b>{d.summary()}</b></summary>")
        out.append("")
        for key in d.added:
            out += [f"**added** `{label(key)}`", ""]
        for key in d.removed:
            out += [f"**removed** `{label(key)}`", ""]
        for key, text in d.changed.items():
            out += [f"**changed** `{label(key)}`", "", "```diff", text.rstrip("\n"), "```", ""]
        out.append("</details>")
    return "\n".join(out) + "\n"
