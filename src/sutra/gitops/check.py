"""The manifest gate: per tier render -> schema validation -> policies -> summary.

The same function backs `sutra check`, `make check` and the pull-request workflow, so what a
reviewer sees locally is what CI enforces. Argo CD's own objects are schema-checked too, and so
are the Gatekeeper objects in gatekeeper/, which must also be exactly what
`sutra gatekeeper generate` makes from policies/ (the admission twins of the one-object rules).
Every region overlay of a checked tier (regions/<region>/<tier>, what Argo CD deploys) is
rendered, validated and policy-checked like a tier, and the regions of each tier are checked
together for their single storage writer (sutra.gitops.region_check).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sutra.gitops import (
    argocd_files,
    gatekeeper,
    region_check,
    regions,
    render,
    shard_files,
    tier_alerts,
    tier_docs,
    validate,
)
from sutra.gitops import tiers as tier_table
from sutra.gitops.paths import crd_schema_dir, policy_dir, repo_root
from sutra.gitops.policy import PolicySet, Violation
from sutra.gitops.quantities import format_cpu, format_memory
from sutra.gitops.workloads import Scale, Workload, capacity, workloads

ARGOCD = "argocd"
GATEKEEPER = "gatekeeper"
REGIONS = region_check.TARGET
NOT_A_TIER = (REGIONS, ARGOCD, GATEKEEPER)


@dataclass
class Report:
    """What the gate found for one target (a tier, a region overlay `region/tier`, the regions
    together, or the Argo CD objects)."""

    target: str
    objects: list[dict[str, Any]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    placement: regions.Placement | None = None  # set for a region overlay
    placements: list[regions.Placement] = field(default_factory=list)  # for REGIONS

    @property
    def workloads(self) -> list[Workload]:
        return workloads(self.objects)


def check(
    tiers: Sequence[str] | None = None,
    versions: Sequence[str] | None = None,
    root: Path | None = None,
) -> list[Report]:
    """Run the gate: a report per tier, per region overlay of those tiers, one for the regions
    together (the overlays up to date with the table, one storage writer per tier), one for
    argocd/ (schemas only; the Rego policies judge tiers) and, when policies/ has admission
    rules or the checkout has a gatekeeper/, one for gatekeeper/ (schemas, and up to date with
    policies/; missing is a violation). Raises RenderError, UnknownTier, TierTableError,
    ValidationSetupError, PolicyError or GatekeeperError when the gate itself cannot run.
    Default: every tier of the table."""
    root = root or repo_root()
    tiers = list(tiers) if tiers else list(tier_table.names(root))
    for tier in tiers:
        render.check_tier(tier, root)
    versions = validate.kube_versions(versions)
    schema_dir = crd_schema_dir(root)
    table = tier_table.load(root)
    places = regions.placements(table, tiers)
    # A missing overlay is reported by the regions report (a file to generate), not rendered.
    present = [p for p in places if (root / p.path / "kustomization.yaml").is_file()]
    # kustomize runs are independent processes: render them side by side.
    admission = root / GATEKEEPER
    enforced = admission.is_dir() or _has_admission_rules(root)
    with ThreadPoolExecutor(max_workers=len(tiers) + len(present) + 2) as pool:
        rendered = {tier: pool.submit(render.render_tier, tier, root) for tier in tiers}
        regional = {p: pool.submit(render.render_region, p.region, p.tier, root) for p in present}
        argocd = pool.submit(render.render_argocd, root)
        admitted = pool.submit(render.kustomize, admission) if admission.is_dir() else None
        reports = [Report(tier, rendered[tier].result()) for tier in tiers]
        reports += [Report(p.name, regional[p].result(), placement=p) for p in present]
        if places or (root / REGIONS).is_dir():
            reports.append(Report(REGIONS, placements=places))
        reports.append(Report(ARGOCD, argocd.result()))
        if enforced:
            objects = render.parse(admitted.result()) if admitted is not None else []
            reports.append(Report(GATEKEEPER, objects))
    policies = PolicySet(policy_dir(root))
    checked = {r.target: _fingerprints(r.objects) for r in reports if r.target in tiers}
    for report in reports:
        report.violations = validate.validate_objects(
            _unvalidated(report, checked), report.target, versions, schema_dir
        )
        if report.target == GATEKEEPER:
            report.violations.extend(_not_generated(root))
        elif report.target == ARGOCD:
            report.violations.extend(argocd_files.FILES.violations(root, ARGOCD))
            report.violations.extend(tier_docs.FILES.violations(root, "docs"))
        elif report.target == REGIONS:
            report.violations.extend(_region_violations(root, reports, table))
        elif (place := report.placement) is not None:
            report.violations.extend(policies.evaluate(report.objects, place.tier, place.region))
        else:
            report.violations.extend(policies.evaluate(report.objects, report.target))
            report.violations.extend(tier_alerts.violations(root, report.target))
            report.violations.extend(shard_files.violations(root, report.target))
    return reports


def _fingerprints(objects: Sequence[dict[str, Any]]) -> set[str]:
    return {json.dumps(o, sort_keys=True, default=str) for o in objects}


def _unvalidated(report: Report, checked: dict[str, set[str]]) -> list[dict[str, Any]]:
    """The objects of REPORT to validate: for a region overlay only those that differ from its
    tier's (most are identical, and an identical object validates the same), which keeps the
    schema checks of the regions cheap."""
    if report.placement is None:
        return report.objects
    seen = checked.get(report.placement.tier, set())
    return [o for o in report.objects if json.dumps(o, sort_keys=True, default=str) not in seen]


def _region_violations(
    root: Path, reports: Sequence[Report], table: dict[str, Any]
) -> list[Violation]:
    """The regions together: stale or missing overlays, and each tier's writers counted over
    its regions."""
    rendered = {r.placement: r.objects for r in reports if r.placement is not None}
    storage = table["storage"]["workload"]
    return region_check.file_violations(root) + region_check.writer_violations(rendered, storage)


def _has_admission_rules(root: Path) -> bool:
    """Whether some rule has an admission twin, so gatekeeper/ must exist (and be current)."""
    return any(policy_dir(root).glob(f"*/{gatekeeper.ADMISSION_FILE}"))


def _not_generated(root: Path) -> list[Violation]:
    """Every file of gatekeeper/ that `sutra gatekeeper generate` would write differently;
    the folder itself when it is missing."""
    if (root / GATEKEEPER).is_dir():
        return gatekeeper.FILES.violations(root, GATEKEEPER)
    message = "is missing: run `sutra gatekeeper generate`"
    return [Violation(GATEKEEPER, "File", f"{GATEKEEPER}/", message, "generated")]


def _range(w: Workload) -> str:
    span = str(w.min_replicas)
    if w.max_replicas != w.min_replicas:
        span += f"-{w.max_replicas}"
    return f"{span} (HPA)" if w.autoscaled else span


def _capacity(found: Sequence[Workload], key: str, scale: Scale) -> str:
    cpu, memory = capacity(found, key, scale)
    return f"{format_cpu(cpu)}, {format_memory(memory)}"


def summary(report: Report) -> list[str]:
    """A few lines: object count, each workload's replica range, capacity at min and max (for
    the regions together: each region's tiers)."""
    if report.target == REGIONS:
        return region_check.summary(report.placements)
    lines = [f"{report.target}: {len(report.objects)} objects"]
    found = report.workloads
    if not found:
        return lines
    width = max(len(w.name) for w in found)
    for w in found:
        lines.append(f"  {w.name:<{width}}  {w.kind:<11}  replicas {_range(w)}")
    for key in ("requests", "limits"):
        lines.append(
            f"  {key:<8} at minimum {_capacity(found, key, 'min')}; "
            f"at maximum {_capacity(found, key, 'max')}"
        )
    return lines


def verdict(reports: Sequence[Report]) -> str:
    tiers = [r for r in reports if r.target not in NOT_A_TIER and r.placement is None]
    overlays = [r for r in reports if r.placement is not None]
    failing = [r for r in reports if r.violations]
    parts = [f"{len(tiers)} tier{'s' if len(tiers) != 1 else ''}"]
    if overlays:
        parts.append(f"{len(overlays)} region overlay{'s' if len(overlays) != 1 else ''}")
    parts += [f"{r.target}/" for r in reports if r.target in NOT_A_TIER]
    checked = f"{', '.join(parts[:-1])} and {parts[-1]}" if len(parts) > 1 else parts[0]
    if not failing:
        return f"{checked} checked: clean"
    count = sum(len(r.violations) for r in failing)
    where = ", ".join(r.target for r in failing)
    return f"{count} violation{'s' if count != 1 else ''} in {len(failing)} of {checked} ({where})"


def gate(root: Path) -> list[str]:
    """Every violation line for all tiers of the checkout at ROOT (empty when clean), for
    callers such as promotion that must refuse a change the gate would reject."""
    reports = check(None, None, root)
    return [str(v) for report in reports for v in report.violations]
