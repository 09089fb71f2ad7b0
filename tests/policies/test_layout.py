"""The policy folder keeps its layout: each rule has a unit test file and both kinds of sample."""

from __future__ import annotations

import re

import pytest

from sutra.gitops.policy import PolicySet

from .conftest import POLICY_DIR

NON_RULE_FOLDERS = {"lib", "data"}
RULE_FOLDERS = sorted(
    p.name for p in POLICY_DIR.iterdir() if p.is_dir() and p.name not in NON_RULE_FOLDERS
)
REQUIRED_RULES = {
    "storage_single_writer",
    "hpa_range",
    "hpa_metrics",
    "hpa_no_replicas",
    "fixed_replicas",
    "container_resources",
    "container_probes",
    "image_pinned",
    "security_context",
    "pdb_required",
    "network_policy_coverage",
    "storage_ingress",
    "service_selects_pods",
    "required_labels",
    "tier_workloads",
    "namespace_scope",
    "secrets_as_files",
}


def test_rules_are_the_rule_folders(policy_set: PolicySet) -> None:
    assert policy_set.rules == RULE_FOLDERS
    assert set(policy_set.rules) >= REQUIRED_RULES


@pytest.mark.parametrize("rule", RULE_FOLDERS)
def test_rule_folder_is_complete(rule: str) -> None:
    folder = POLICY_DIR / rule
    missing = [
        what
        for what, present in [
            (f"{rule}.rego", (folder / f"{rule}.rego").is_file()),
            (f"{rule}_test.rego", (folder / f"{rule}_test.rego").is_file()),
            ("samples/allowed-*.yaml", any((folder / "samples").glob("allowed-*.yaml"))),
            ("samples/disallowed-*.yaml", any((folder / "samples").glob("disallowed-*.yaml"))),
        ]
        if not present
    ]
    assert not missing, f"policies/{rule} lacks {', '.join(missing)}"


@pytest.mark.parametrize("rule", RULE_FOLDERS)
def test_rule_has_allow_and_deny_unit_tests(rule: str) -> None:
    text = (POLICY_DIR / rule / f"{rule}_test.rego").read_text()
    tests = re.findall(r"^(test_\w+)", text, re.MULTILINE)
    assert any("allow" in t for t in tests), f"{rule}_test.rego has no test_*allowed* case"
    assert any("denied" in t for t in tests), f"{rule}_test.rego has no test_*denied case"
    assert re.search(rf"^package sutra\.{rule}$", text, re.MULTILINE)


@pytest.mark.parametrize("rule", RULE_FOLDERS)
def test_rule_explains_itself(rule: str) -> None:
    """The rule file opens with a comment saying what it enforces and why."""
    assert (POLICY_DIR / rule / f"{rule}.rego").read_text().startswith("# ")


def test_readme_lists_every_rule() -> None:
    readme = (POLICY_DIR / "README.md").read_text()
    missing = [rule for rule in RULE_FOLDERS if f"`{rule}`" not in readme]
    assert not missing, f"policies/README.md does not describe {missing}"
