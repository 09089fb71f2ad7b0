"""PolicySet: loading errors, evaluation results, and the reference tier the unit tests build on."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sutra.gitops.policy import PolicyError, PolicySet, Violation

from .conftest import POLICY_DIR


@pytest.fixture
def policy_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "policies"
    shutil.copytree(POLICY_DIR, copy)
    return copy


def test_syntax_error_is_one_line_naming_the_file(policy_copy: Path) -> None:
    target = policy_copy / "image_pinned" / "image_pinned.rego"
    target.write_text(target.read_text() + "\ndeny contains x if {\n")
    with pytest.raises(PolicyError) as err:
        PolicySet(policy_copy)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("policies/image_pinned/image_pinned.rego:")
    assert "Stack backtrace" not in message


def test_wrong_package_is_rejected(policy_copy: Path) -> None:
    target = policy_copy / "fixed_replicas" / "fixed_replicas.rego"
    target.write_text(
        target.read_text().replace("package sutra.fixed_replicas", "package sutra.fixed")
    )
    (policy_copy / "fixed_replicas" / "fixed_replicas_test.rego").unlink()
    with pytest.raises(PolicyError, match=r"fixed_replicas\.rego: declares package sutra\.fixed"):
        PolicySet(policy_copy)


def test_missing_tier_table_is_a_policy_error(policy_copy: Path) -> None:
    (policy_copy / "data" / "tiers.yaml").unlink()
    with pytest.raises(PolicyError, match=r"policies/data/tiers\.yaml"):
        PolicySet(policy_copy)


def test_unknown_tier_is_a_policy_error(policy_set: PolicySet) -> None:
    with pytest.raises(PolicyError, match="unknown tier 'huge'"):
        policy_set.evaluate([], "huge")


def test_failing_unit_test_is_reported(policy_copy: Path) -> None:
    target = policy_copy / "hpa_range" / "hpa_range_test.rego"
    target.write_text(target.read_text() + "\ntest_always_fails if {\n\tcount(deny) == 99\n}\n")
    results = {r.id: r for r in PolicySet(policy_copy).run_unit_tests()}
    failed = results["hpa_range::test_always_fails"]
    assert not failed.passed
    assert str(failed).startswith("FAIL hpa_range::test_always_fails")
    assert all(r.passed for key, r in results.items() if key != failed.id)


@pytest.mark.parametrize("tier", ["low", "medium", "high"])
def test_reference_tier_passes_every_rule(policy_set: PolicySet, tier: str) -> None:
    objects = policy_set.reference_tier(tier)
    assert len(objects) > 20
    assert policy_set.evaluate(objects, tier) == []


def test_violations_are_sorted_and_formatted(policy_set: PolicySet) -> None:
    objects = [
        o
        for o in policy_set.reference_tier("medium")
        if not (o["kind"] == "PodDisruptionBudget" or o["metadata"]["name"] == "default-deny")
    ]
    violations = policy_set.evaluate(objects, "medium")
    assert violations == sorted(violations)
    # Without budgets the storage log (medium runs one) has no majority kept either.
    assert {v.rule for v in violations} == {
        "pdb_required",
        "network_policy_coverage",
        "nats_quorum",
    }
    assert [str(v) for v in violations if v.name == "sutra-control"] == [
        "medium Deployment/sutra-control: Deployment sutra-control can run 2 pods but no "
        "PodDisruptionBudget selects them: add one (maxUnavailable: 1) whose selector matches "
        "its pod labels [pdb_required]"
    ]


def test_each_rule_is_evaluated_against_the_given_tier(policy_set: PolicySet) -> None:
    """The same objects are right for one tier and wrong for another."""
    low = policy_set.reference_tier("low")
    assert policy_set.evaluate(low, "low") == []
    rules = {v.rule for v in policy_set.evaluate(low, "high")}
    assert {"hpa_range", "fixed_replicas"} <= rules


def test_violation_string() -> None:
    v = Violation("low", "Deployment", "sutra-api", "Deployment sutra-api is wrong", "r")
    assert str(v) == "low Deployment/sutra-api: Deployment sutra-api is wrong [r]"


def test_rules_are_loaded_once_and_evaluations_do_not_leak(policy_set: PolicySet) -> None:
    bad = [{"kind": "Deployment", "metadata": {"name": "sutra-api"}, "spec": {"replicas": 3}}]
    assert any(v.rule == "hpa_no_replicas" for v in policy_set.evaluate(bad, "low"))
    assert policy_set.evaluate(policy_set.reference_tier("low"), "low") == []


def test_evaluation_error_names_the_rule(policy_copy: Path) -> None:
    target = policy_copy / "image_pinned" / "image_pinned.rego"
    target.write_text(
        target.read_text()
        + "\nclash := 1\n\nclash := 2 if { true }\n\n"
        + 'deny contains {"kind": "X", "name": "y", "msg": sprintf("%v", [clash])} if { true }\n'
    )
    policy_set = PolicySet(policy_copy)
    with pytest.raises(PolicyError) as err:
        policy_set.evaluate([], "low")
    assert str(err.value).startswith("image_pinned: ")
    assert "\n" not in str(err.value)


def test_yaml_timestamps_are_accepted(policy_set: PolicySet) -> None:
    import datetime

    obj = {
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"at": datetime.date(2026, 1, 1)},
    }
    assert policy_set.evaluate([obj], "low")  # evaluated (the tier lacks its workloads)


def test_missing_policy_folder_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such policy folder"):
        PolicySet(tmp_path / "nowhere")
