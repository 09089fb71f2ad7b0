"""`sutra scan`: checkov's Kubernetes checks over the rendered tiers.

The Rego rules in policies/ say what this project decided; checkov adds the checks of the
common hardening guides (image digests, secrets as files, ...) that nobody here has to
remember. It reads each tier as Argo CD applies it (rendered by kustomize), in one run over a
folder holding every tier: checkov takes seconds to start, so one run instead of three.

A check that does not fit an object is skipped in the manifest, on the object's own metadata,
with the reason: `checkov.io/skip1: CKV_K8S_xx=<why>` (checkov honours it on Deployments,
StatefulSets and CronJobs alike; the reason may not contain `=`). A skip without a reason
counts as a failure, so every exception stays explained where reviewers read it.

Exit codes: 0 clean, 1 failed checks, 2 usage or tool error (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sutra.gitops.paths import repo_root

CHECKOV_TIMEOUT_SECONDS = 600
# What checkov records for a `checkov.io/skipN: CKV_ID` annotation without `=reason`.
NO_REASON = "No comment provided"


class ScanError(RuntimeError):
    """checkov could not scan the tiers; the message is one line."""


@dataclass(frozen=True)
class Finding:
    """One check on one object: failed, or skipped with `reason`."""

    tier: str
    kind: str
    name: str
    check_id: str
    check_name: str
    reason: str | None = None

    def __str__(self) -> str:
        return f"{self.tier} {self.kind}/{self.name}: {self.check_id} {self.check_name}"


@dataclass
class TierScan:
    tier: str
    passed: int = 0
    failed: list[Finding] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)

    @property
    def unexplained(self) -> list[Finding]:
        """Skips that give no reason: reported like failures."""
        return [s for s in self.skipped if not s.reason or s.reason == NO_REASON]

    def findings(self) -> list[str]:
        return [str(f) for f in self.failed] + [
            f"{s} (skipped without a reason: write checkov.io/skipN: {s.check_id}=<why>)"
            for s in self.unexplained
        ]

    def summary(self) -> list[str]:
        head = f"{self.tier}: {self.passed} passed, {len(self.failed)} failed, "
        skips = [f"  skipped {s.check_id} on {s.kind}/{s.name}: {s.reason}" for s in self.skipped]
        return [head + f"{len(self.skipped)} skipped", *skips]


def _finding(tier: str, check: dict[str, Any]) -> Finding:
    # checkov names a Kubernetes object `Kind.namespace.name`.
    kind, _, rest = str(check.get("resource", "?")).partition(".")
    name = rest.partition(".")[2] or rest
    return Finding(
        tier,
        kind,
        name,
        str(check.get("check_id")),
        str(check.get("check_name")),
        (check.get("check_result") or {}).get("suppress_comment"),
    )


def collect(reports: list[dict[str, Any]], tiers: list[str]) -> list[TierScan]:
    """Per-tier counts and findings from checkov's JSON reports (files named `<tier>.yaml`)."""
    scans = {tier: TierScan(tier) for tier in tiers}
    for report in reports:
        results = report.get("results") or {}
        if errors := results.get("parsing_errors"):
            raise ScanError(f"checkov could not parse {', '.join(map(str, errors))}")
        for key in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in results.get(key) or []:
                scan = scans.get(Path(str(check.get("file_path"))).stem)
                if scan is None:
                    raise ScanError(f"checkov reported an unknown file {check.get('file_path')}")
                if key == "passed_checks":
                    scan.passed += 1
                else:
                    found = scan.failed if key == "failed_checks" else scan.skipped
                    found.append(_finding(scan.tier, check))
    for scan in scans.values():
        if not (scan.passed or scan.failed or scan.skipped):  # silence is not a pass
            raise ScanError(f"checkov ran no check on tier {scan.tier}")
        scan.failed.sort(key=_order)  # checkov's order varies between runs; the output must not
        scan.skipped.sort(key=_order)
    return [scans[tier] for tier in tiers]


def _order(finding: Finding) -> tuple[str, str, str]:
    return finding.kind, finding.name, finding.check_id


def run_checkov(folder: Path, checkov: str) -> tuple[list[dict[str, Any]], str]:
    """checkov's JSON reports on every file in `folder`, and its version."""
    command = [checkov, "--directory", str(folder), "--framework", "kubernetes"]
    command += ["--output", "json", "--skip-download"]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CHECKOV_TIMEOUT_SECONDS, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ScanError(f"{checkov}: {exc}") from None
    try:
        parsed = json.loads(done.stdout)
    except json.JSONDecodeError:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        detail = lines[-1].strip() if lines else f"exit status {done.returncode}, no JSON"
        raise ScanError(f"checkov failed: {detail}") from None
    reports = parsed if isinstance(parsed, list) else [parsed]
    versions = {str((r.get("summary") or r).get("checkov_version", "?")) for r in reports}
    return reports, ", ".join(sorted(versions))


def scan(tiers: list[str], root: Path | None = None) -> tuple[list[TierScan], str]:
    """Render `tiers`, run checkov once over all of them; (per-tier results, checkov version)."""
    from sutra.gitops.render import render_text
    from sutra.gitops.tools import find_tool

    root = root or repo_root()
    checkov = find_tool("checkov", root)
    with tempfile.TemporaryDirectory(prefix="sutra-scan-") as folder:
        for tier in tiers:
            (Path(folder) / f"{tier}.yaml").write_text(render_text(tier, root))
        reports, version = run_checkov(Path(folder), checkov)
    return collect(reports, tiers), version


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scan",
        help="run checkov's Kubernetes checks on the rendered tiers",
        description=(
            "Render each tier with kustomize and run the pinned checkov (.tools/venv, "
            "`scripts/bootstrap test`; SUTRA_CHECKOV overrides) over all of them at once. "
            "Prints per tier the passed, failed and skipped checks, each skip's reason, then "
            "every failure as `TIER KIND/NAME: CHECK_ID name`. Exit 1 on any failure or on a "
            "skip annotation without a reason."
        ),
    )
    parser.add_argument(
        "tiers", nargs="*", metavar="TIER", help="tiers to scan (default: every tier of the table)"
    )
    parser.set_defaults(func=run_scan)


def run_scan(args: argparse.Namespace) -> int:
    from sutra.gitops import tiers as tier_table  # reads YAML: kept out of `sutra --help`
    from sutra.gitops.render import check_tier

    tiers = [check_tier(t) for t in dict.fromkeys(args.tiers)] or list(tier_table.names())
    results, version = scan(tiers)
    for result in results:
        print("\n".join(result.summary()))
    findings = [line for result in results for line in result.findings()]
    for line in findings:
        print(line)
    scanned = f"{len(tiers)} tier{'s' if len(tiers) > 1 else ''} scanned by checkov {version}"
    failed = f"{len(findings)} failed check{'s' if len(findings) > 1 else ''}"
    print(f"{scanned}: {failed if findings else 'clean'}")
    return 1 if findings else 0
