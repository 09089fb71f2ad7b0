"""The generated Gatekeeper policies reject what their gate twins reject, and nothing else.

Gatekeeper's controller cannot run here (no cluster): the committed templates' Rego runs in
regorus, the engine of the gate, with Gatekeeper's admission input (see `conftest.Twin`). For
every sample under policies/ (all rules', not only the converted ones) and every object in it,
each twin's messages equal the messages its gate rule gives that object. Only violations about
an absent object ("the StatefulSet is missing") have no admission twin: admission sees one
object at a time. The rules read no referential data (`data.inventory`).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from pathlib import Path

import pytest

from sutra.gitops.policy import PolicySet, read_sample

from .conftest import CONVERTED, REPO_ROOT, Twin

SAMPLES = sorted((REPO_ROOT / "policies").glob("*/samples/*.yaml"))


def test_every_one_object_rule_has_a_twin(twins: dict[str, Twin]) -> None:
    assert set(twins) == CONVERTED
    for twin in twins.values():
        source = twin.template["spec"]["targets"][0]["code"][0]["source"]
        assert "data.inventory" not in source["rego"] + "".join(source["libs"])


@pytest.mark.parametrize("path", SAMPLES, ids=[f"{p.parts[-3]}/{p.name}" for p in SAMPLES])
def test_twins_judge_each_object_of_a_sample_as_the_gate_does(
    policy_set: PolicySet, twins: dict[str, Twin], path: Path
) -> None:
    tier, objects = read_sample(path)
    gate: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for v in policy_set.evaluate(objects, tier):
        if v.rule in twins:
            gate[(v.rule, v.kind, v.name)].add(v.message)
    rejected = set()
    for obj in objects:
        for rule, twin in twins.items():
            key = (rule, obj["kind"], obj["metadata"]["name"])
            found = twin.review(obj)
            assert found == gate.pop(key, set()), f"{rule} on {key[1]}/{key[2]}"
            if found:
                rejected.add(rule)
    # What is left names no object of the sample: only an absence, which admission cannot see.
    assert all("is missing" in m for ms in gate.values() for m in ms), dict(gate)
    rule = path.parts[-3]
    if rule in twins and path.name.startswith("disallowed-"):
        assert rule in rejected, f"the {rule} twin admits every object of {path.name}"
    if rule in twins and path.name.startswith("allowed-"):
        assert rule not in rejected


def test_every_object_of_every_tier_is_admitted(twins: dict[str, Twin], rendered_tiers) -> None:
    """What Argo CD applies to a tier passes admission, so the constraints never block a sync."""
    for tier, objects in rendered_tiers.items():
        assert any(twin.matches(o) for o in objects for twin in twins.values())
        for obj in objects:
            for twin in twins.values():
                assert twin.review(obj) == set(), f"{tier} {obj['kind']}/{obj['metadata']['name']}"


def test_an_edit_to_two_storage_replicas_is_refused(twins: dict[str, Twin], rendered_tiers) -> None:
    """`kubectl edit statefulset storage-server` to replicas 2 is an UPDATE Gatekeeper denies."""
    storage = next(
        o for o in rendered_tiers["high"]
        if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "storage-server"
    )  # fmt: skip
    edited = copy.deepcopy(storage)
    edited["spec"]["replicas"] = 2
    (message,) = twins["storage_single_writer"].review(edited, operation="UPDATE")
    assert message.startswith("StatefulSet storage-server has replicas 2:")
    assert twins["storage_single_writer"].review(storage, operation="UPDATE") == set()


def test_objects_outside_the_tier_namespace_are_not_matched(
    twins: dict[str, Twin], rendered_tiers
) -> None:
    """Cluster add-ons (kube-system, gatekeeper-system) are not held to the tiers' rules."""
    storage = next(o for o in rendered_tiers["low"] if o["kind"] == "StatefulSet")
    elsewhere = copy.deepcopy(storage)
    elsewhere["metadata"]["namespace"] = "kube-system"
    elsewhere["spec"]["replicas"] = 3
    assert twins["storage_single_writer"].review(elsewhere) == set()
    elsewhere["metadata"]["namespace"] = storage["metadata"]["namespace"]
    assert twins["storage_single_writer"].review(elsewhere) != set()
