"""`sutra check` covers the regions: a missing or hand-edited overlay, a second writer of a
tier's store, and a table row that cannot be deployed, each on a copy of the GitOps tree."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sutra.gitops import check, region_check, tiers
from sutra.gitops.tiers import TierTableError

SUTRA = str(Path(sys.executable).parent / "sutra")


def lines(root: Path, *tier_names: str) -> list[str]:
    return [str(v) for r in check.check(list(tier_names), ["1.37.0"], root) for v in r.violations]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r}"
    path.write_text(text.replace(old, new, 1))


def test_a_missing_region_overlay_is_a_violation(gitops_checkout: Path) -> None:
    (gitops_checkout / "regions/us-east/medium/kustomization.yaml").unlink()
    found = lines(gitops_checkout, "medium")
    assert found == [
        "regions File/regions/us-east/medium/kustomization.yaml: is missing: "
        "run `sutra regions generate` [generated]"
    ]


def test_a_hand_edited_host_fails_the_rule_and_the_generated_check(gitops_checkout: Path) -> None:
    edit(gitops_checkout / "regions/eu-west/low/kustomization.yaml",
         "value: low.eu-west.sutra.example}", "value: low.example.org}")  # fmt: skip
    found = lines(gitops_checkout, "low")
    assert any(
        line.startswith("eu-west/low Ingress/sutra-client: Ingress sutra-client answers ")
        and line.endswith("[region_overlay]")
        for line in found
    ), found
    assert any(line.startswith("regions File/regions/eu-west/low/") for line in found), found


def test_a_second_writer_fails_in_the_region_and_across_regions(gitops_checkout: Path) -> None:
    """us-east's medium without components/regions/storage-remote runs a writer of the
    medium store, whose primary is eu-west: the region's rule and the cross-region count
    both say so."""
    edit(gitops_checkout / "regions/us-east/medium/kustomization.yaml",
         "  - ../../../components/regions/storage-remote\n", "")  # fmt: skip
    found = lines(gitops_checkout, "medium")
    assert any(
        line.startswith("us-east/medium StatefulSet/storage-server: ")
        and line.endswith("[region_storage_writer]")
        for line in found
    ), found
    cross = [line for line in found if line.startswith("regions StatefulSet/")]
    assert cross == [
        "regions StatefulSet/storage-server: StatefulSet storage-server: the medium store's "
        "writer runs in eu-west, us-east; exactly its storage primary (eu-west) must run it "
        f"[{region_check.RULE}]"
    ]


def test_two_primaries_for_a_tier_are_a_usage_error(gitops_checkout: Path) -> None:
    path = gitops_checkout / tiers.TABLE
    edit(path, "medium: {host: medium.us-east.sutra.example, storage: remote}",
         "medium: {host: medium.us-east.sutra.example, storage: primary, "
         "storage_host: storage.medium.us-east.sutra.internal}")  # fmt: skip
    with pytest.raises(TierTableError, match="tier medium needs exactly one storage primary"):
        check.check(["medium"], ["1.37.0"], gitops_checkout)
    done = subprocess.run([SUTRA, "check", "medium"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [
        "sutra check: error: policies/data/tiers.yaml: regions.*: tier medium needs exactly "
        "one storage primary region (eu-west, us-east)"
    ]
