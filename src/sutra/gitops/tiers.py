"""The tier table, policies/data/tiers.yaml: the one place that lists the tiers and their numbers.

The Rego rules read it as `data.tiers`; Python reads it here, so the tier names, their order
(the promotion order), the namespace and the regions come from the same file as the checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sutra.gitops.paths import repo_root

TABLE = Path("policies") / "data" / "tiers.yaml"


class TierTableError(RuntimeError):
    """The tier table cannot be read or lacks what a caller needs; one line naming the file."""


def load(root: Path | None = None) -> dict[str, Any]:
    """The whole table of the checkout at ROOT (default: the enclosing checkout)."""
    path = (root or repo_root()) / TABLE
    try:
        table = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise TierTableError(f"{TABLE}: {str(exc).splitlines()[0]}") from None
    tiers = table.get("tiers") if isinstance(table, dict) else None
    if not isinstance(tiers, dict) or not tiers:
        raise TierTableError(f"{TABLE}: has no tiers")
    return table


def names(root: Path | None = None) -> tuple[str, ...]:
    """The tiers in the table's order, which is the order releases are promoted in."""
    return tuple(load(root)["tiers"])


def namespace(table: dict[str, Any]) -> str:
    """The namespace every tier deploys into (`namespace.name`; base/kustomization.yaml sets the
    same name for kustomize, and rule namespace_scope fails the gate when the two differ)."""
    name = (table.get("namespace") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise TierTableError(f"{TABLE}: namespace.name is missing")
    return name


def regions(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The regions each tier runs in (`regions:`), by name; empty when the table has none."""
    found = table.get("regions") or {}
    if not isinstance(found, dict):
        raise TierTableError(f"{TABLE}: regions must be a mapping")
    return found
