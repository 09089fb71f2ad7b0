"""Every rendered object is valid for both supported Kubernetes versions, in strict mode."""

from __future__ import annotations

import copy

import pytest

from sutra.gitops.paths import crd_schema_dir
from sutra.gitops.validate import DEFAULT_KUBE_VERSIONS, validate_objects


@pytest.mark.parametrize("version", DEFAULT_KUBE_VERSIONS)
def test_every_object_is_valid_in_strict_mode(rendered, repo, version: str) -> None:
    found = validate_objects(rendered.objects, rendered.tier, [version], crd_schema_dir(repo))
    assert [str(v) for v in found] == []


def test_an_unknown_field_is_a_schema_violation(rendered_tiers, repo) -> None:
    """Strict mode is on: a mis-indented key (here `replicas` under the pod spec) is caught."""
    deployment = copy.deepcopy(rendered_tiers["low"].get("Deployment", "sutra-control"))
    deployment["spec"]["template"]["spec"]["replicas"] = 2
    found = validate_objects([deployment], "low", DEFAULT_KUBE_VERSIONS, crd_schema_dir(repo))
    assert len(found) == 1
    (violation,) = found
    assert (violation.kind, violation.name, violation.rule) == (
        "Deployment", "sutra-control", "schema")  # fmt: skip
    assert "spec.template.spec" in violation.message
    assert "1.36, 1.37" in violation.message


def test_a_custom_resource_without_a_schema_is_a_violation(repo) -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    (violation,) = validate_objects([widget], "low", DEFAULT_KUBE_VERSIONS, crd_schema_dir(repo))
    assert violation.rule == "schema"
    assert "no CRD schema for example.com/v1 Widget" in violation.message
