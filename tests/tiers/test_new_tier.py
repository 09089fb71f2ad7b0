"""Adding a tier is one command and an edit of the table: `sutra tiers new` on a copy of the
GitOps tree, then the whole gate over four tiers. The new tier runs in no region until the
table's `regions:` lists it: then `sutra generate` writes its region overlay and clusters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sutra.gitops import argocd_files, region_files, tier_docs, tier_new, tiers

SUTRA = str(Path(sys.executable).parent / "sutra")


def sutra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SUTRA, *args], capture_output=True, text=True, timeout=300)


def test_a_new_tier_from_high_passes_the_whole_gate(gitops_checkout: Path) -> None:
    done = sutra("tiers", "new", "xl", "--from", "high")
    assert done.returncode == 0, done.stderr
    table = tiers.load(gitops_checkout)
    assert list(table["tiers"]) == ["low", "medium", "high", "xl"]
    assert table["tiers"]["xl"] == table["tiers"]["high"]
    assert (
        table["hpa"]["sutra-api"]["pods_metrics"]["xl"]
        == (table["hpa"]["sutra-api"]["pods_metrics"]["high"])
    )
    overlay = (gitops_checkout / "overlays/xl/kustomization.yaml").read_text()
    assert "sutra-xl" in overlay and "sutra-high" not in overlay
    # In no region yet: no region overlay, no cluster, no admission Application for it.
    assert "xl" not in str(table["regions"])
    apps = argocd_files.render(gitops_checkout)[argocd_files.ADMISSION_FILE]
    assert "sutra-admission-" in apps and "-xl" not in apps
    assert not (gitops_checkout / "regions" / "eu-west" / "xl").exists()
    assert "| xl |" in tier_docs.render(gitops_checkout)["base/README.md"]

    check = sutra("check", "-q")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().endswith(
        "4 tiers, 5 region overlays, regions/, argocd/ and gatekeeper/ checked: clean"
    )


def test_a_region_opts_into_the_new_tier_by_a_table_edit(gitops_checkout: Path) -> None:
    """eu-west lists xl (as its storage primary): `sutra generate` writes the overlay, the
    cluster's admission Application and destinations, and the gate checks six overlays."""
    assert sutra("tiers", "new", "xl", "--from", "high").returncode == 0
    path = gitops_checkout / tiers.TABLE
    text = path.read_text()
    anchor = "      high:   {host: high.eu-west.sutra.example, storage: remote}\n"
    row = (
        "      xl:     {host: xl.eu-west.sutra.example, storage: primary, "
        "storage_host: storage.xl.eu-west.sutra.internal}\n"
    )
    assert anchor in text
    path.write_text(text.replace(anchor, anchor + row))
    stale = sutra("check", "-q", "xl")
    assert stale.returncode == 1
    assert "regions File/regions/eu-west/xl/kustomization.yaml: is missing" in stale.stdout
    assert sutra("generate").returncode == 0
    assert "regions/eu-west/xl/kustomization.yaml" in region_files.render(gitops_checkout)
    apps = (gitops_checkout / argocd_files.ADMISSION_FILE).read_text()
    assert "name: sutra-admission-eu-west-xl" in apps
    check = sutra("check", "-q")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.strip().endswith(
        "4 tiers, 6 region overlays, regions/, argocd/ and gatekeeper/ checked: clean"
    )


def test_the_new_tiers_numbers_are_edited_in_the_table_alone(gitops_checkout: Path) -> None:
    """Only the table lists tiers: after the copy, the overlay must follow the table's edit."""
    assert sutra("tiers", "new", "xl", "--from", "high").returncode == 0
    path = gitops_checkout / tiers.TABLE
    text = path.read_text()
    row = text.index("  xl:")
    path.write_text(text[:row] + text[row:].replace("min: 20, max: 50", "min: 30, max: 80", 1))
    check = sutra("check", "-q", "xl")
    assert check.returncode == 1
    assert "xl HorizontalPodAutoscaler/sutra-api" in check.stdout
    # The generated files follow the table at once, and say so until regenerated.
    assert "xl File/overlays/xl/tier-alerts.yaml: is out of date" in check.stdout


@pytest.mark.parametrize(
    ("name", "source", "message"),
    [
        ("high", "medium", "tier high exists already"),
        ("XL", "high", "lower-case letters"),
        ("xl", "huge", "no tier huge to copy"),
    ],
)
def test_a_tier_that_cannot_be_added_changes_nothing(
    gitops_checkout: Path, name: str, source: str, message: str
) -> None:
    before = (gitops_checkout / tiers.TABLE).read_text()
    with pytest.raises(tier_new.NewTierRefused, match=message):
        tier_new.new_tier(gitops_checkout, name, source)
    assert (gitops_checkout / tiers.TABLE).read_text() == before


def test_the_table_copy_keeps_comments_and_parses_as_meant() -> None:
    text = (Path(__file__).resolve().parents[2] / tiers.TABLE).read_text()
    copied = tier_new.table_text(text, "medium", "staging")
    comments = [line for line in text.splitlines() if line.lstrip().startswith("#")]
    assert all(line in copied.splitlines() for line in comments)
    table = yaml.safe_load(copied)
    assert list(table["tiers"])[-1] == "staging"
    assert "staging" in table["namespace"]["outside"][0]["tiers"]


def test_the_documents_carry_their_generated_tables() -> None:
    """The generator skips a document without its block, so the checkout's must have theirs."""
    root = Path(__file__).resolve().parents[2]
    for document, blocks in tier_docs.BLOCKS.items():
        text = (root / document).read_text()
        for name, _ in blocks:
            assert f"<!-- BEGIN {name} " in text and f"<!-- END {name} -->" in text, document
    assert tier_docs.FILES.stale(root) == []
