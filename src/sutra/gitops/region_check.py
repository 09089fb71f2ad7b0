"""What the gate checks across the region overlays, which no single render can see.

The Rego rules judge one render at a time (rule region_storage_writer: a region that is not
the tier's storage primary renders no writer, the primary exactly one). Here, with every
region of a tier rendered, the gate counts the regions whose render holds a writer of that
tier's store: exactly one, the primary. It also reports the region overlays that are missing
or stale (`sutra regions generate` writes them from the table).

A writer is told by name and label, as in the Rego rule: the StatefulSet named
`storage.workload` of the table, or any workload whose pod template carries
`app.kubernetes.io/name: <storage.workload>`, or either with `-<i>`: the writer of storage
shard i (a sharded tier). A read follower must run under another name.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sutra.gitops import region_files
from sutra.gitops.policy import Violation
from sutra.gitops.regions import Placement

TARGET = "regions"
RULE = "region_storage_writer"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")


def _pod_labels(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    return ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}


def is_writer(obj: dict[str, Any], storage: str) -> bool:
    """Whether OBJ runs the store's writer (by name and label; see the module's note)."""
    if obj.get("kind") not in WORKLOAD_KINDS:
        return False
    shard = re.compile(rf"{re.escape(storage)}(-[0-9]+)?")
    named = obj["kind"] == "StatefulSet" and shard.fullmatch(
        obj.get("metadata", {}).get("name", "")
    )
    return bool(named or shard.fullmatch(_pod_labels(obj).get("app.kubernetes.io/name", "")))


def writer_violations(
    rendered: Mapping[Placement, list[dict[str, Any]]], storage: str
) -> list[Violation]:
    """Per tier, unless exactly its primary region renders a writer: one violation naming the
    regions that do."""
    tiers: dict[str, list[Placement]] = {}
    for place in rendered:
        tiers.setdefault(place.tier, []).append(place)
    found = []
    for tier, places in tiers.items():
        writing = [p.region for p in places if any(is_writer(o, storage) for o in rendered[p])]
        primary = [p.region for p in places if p.primary]
        if writing != primary:
            message = (
                f"StatefulSet {storage}: the {tier} store's writer runs in "
                f"{', '.join(writing) or 'no region'}; exactly its storage primary "
                f"({', '.join(primary)}) must run it"
            )
            found.append(Violation(TARGET, "StatefulSet", storage, message, RULE))
    return found


def file_violations(root: Any) -> list[Violation]:
    """The region overlays and components that `sutra regions generate` would write
    differently, or that are missing."""
    return region_files.FILES.violations(root, TARGET)


def summary(places: Sequence[Placement]) -> list[str]:
    """One line per region: its tiers, the primary ones marked."""
    regions: dict[str, list[str]] = {}
    for place in places:
        mark = " (storage primary)" if place.primary else ""
        regions.setdefault(place.region, []).append(place.tier + mark)
    lines = [f"{TARGET}: {len(places)} overlays in {len(regions)} regions"]
    lines += [f"  {region}: {', '.join(tiers)}" for region, tiers in regions.items()]
    return lines
