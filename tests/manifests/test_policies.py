"""The Rego policies pass on every tier as rendered, and they are really being evaluated."""

from __future__ import annotations

import copy

import pytest

from sutra.gitops.paths import policy_dir
from sutra.gitops.policy import PolicySet


@pytest.fixture(scope="module")
def policy_set(repo) -> PolicySet:
    return PolicySet(policy_dir(repo))


def test_every_tier_passes_every_policy(policy_set: PolicySet, rendered) -> None:
    assert [str(v) for v in policy_set.evaluate(rendered.objects, rendered.tier)] == []


def test_a_tier_broken_on_purpose_is_denied(policy_set: PolicySet, rendered) -> None:
    objects = copy.deepcopy(rendered.objects)
    sts = next(
        o
        for o in objects
        if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "storage-server"
    )
    sts["spec"]["replicas"] = 3
    rules = {v.rule for v in policy_set.evaluate(objects, rendered.tier)}
    assert "storage_single_writer" in rules
