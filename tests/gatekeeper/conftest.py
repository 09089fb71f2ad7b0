"""The Gatekeeper objects as Argo CD applies them, and their Rego run the way Gatekeeper runs it.

Gatekeeper's controller cannot run here (no Kubernetes API server), so `Twin` executes each
generated ConstraintTemplate's Rego (its `rego` and `libs`, exactly as written in gatekeeper/)
in the same engine the gate uses, regorus, with the input Gatekeeper builds for an admission
request: `{"review": <AdmissionRequest with the object>, "parameters": <constraint's>}`, and
reads its `violation` set. Matching follows the Constraint's `spec.match` (kinds, namespaces).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import regorus

from sutra.gitops.policy import PolicySet
from sutra.gitops.render import kustomize, parse

REPO_ROOT = Path(__file__).resolve().parents[2]
GATEKEEPER_DIR = REPO_ROOT / "gatekeeper"
# The rules the issue asks to enforce at admission: every rule about one object.
CONVERTED = {
    "storage_single_writer",
    "container_resources",
    "container_probes",
    "security_context",
    "image_pinned",
}


def api_group(obj: dict[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


@dataclass
class Twin:
    """One ConstraintTemplate and its Constraint, evaluated like Gatekeeper's admission webhook."""

    template: dict[str, Any]
    constraint: dict[str, Any]

    def __post_init__(self) -> None:
        (target,) = self.template["spec"]["targets"]
        (code,) = target["code"]
        source = code["source"]
        assert source["version"] == "v1"
        self.engine = regorus.Engine()
        for i, lib in enumerate(source["libs"]):
            self.engine.add_policy(f"lib{i}.rego", lib)
        self.engine.add_policy("template.rego", source["rego"])
        self.package = re.search(r"^package\s+(\S+)", source["rego"], re.MULTILINE).group(1)

    @property
    def rule(self) -> str:
        return self.constraint["metadata"]["labels"]["app.kubernetes.io/name"].replace("-", "_")

    @property
    def namespace(self) -> str:
        (namespace,) = self.constraint["spec"]["match"]["namespaces"]
        return namespace

    def matches(self, obj: dict[str, Any]) -> bool:
        match = self.constraint["spec"]["match"]
        namespace = obj.get("metadata", {}).get("namespace", self.namespace)
        kinds = any(
            api_group(obj) in k["apiGroups"] and obj.get("kind") in k["kinds"]
            for k in match["kinds"]
        )
        return kinds and namespace in match["namespaces"]

    def review(self, obj: dict[str, Any], operation: str = "CREATE") -> set[str]:
        """The messages Gatekeeper would deny the request with (none when it is not matched).

        An object submitted without a namespace lands in the tiers' namespace, as the overlays
        put it there."""
        if not self.matches(obj):
            return set()
        obj = {**obj, "metadata": {"namespace": self.namespace, **obj.get("metadata", {})}}
        group, _, version = str(obj["apiVersion"]).rpartition("/")
        request = {
            "uid": "00000000-0000-0000-0000-000000000000",
            "kind": {"group": group, "version": version, "kind": obj["kind"]},
            "name": obj["metadata"].get("name", ""),
            "namespace": obj["metadata"]["namespace"],
            "operation": operation,
            "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
            "object": obj,
        }
        parameters = self.constraint["spec"].get("parameters", {})
        engine = self.engine.clone()
        engine.set_input_json(json.dumps({"review": request, "parameters": parameters}))
        result = json.loads(engine.eval_rule_as_json(f"data.{self.package}.violation"))
        return {item["msg"] for item in result}


@pytest.fixture(scope="session")
def gatekeeper_objects() -> list[dict[str, Any]]:
    """gatekeeper/ rendered with the real kustomize, as the admission Applications apply it."""
    return parse(kustomize(GATEKEEPER_DIR))


@pytest.fixture(scope="session")
def twins(gatekeeper_objects: list[dict[str, Any]]) -> dict[str, Twin]:
    """rule -> its Gatekeeper twin, built from the committed files."""
    templates = {o["spec"]["crd"]["spec"]["names"]["kind"]: o for o in gatekeeper_objects
                 if o["kind"] == "ConstraintTemplate"}  # fmt: skip
    found = {}
    for constraint in gatekeeper_objects:
        if api_group(constraint) == "constraints.gatekeeper.sh":
            twin = Twin(templates[constraint["kind"]], constraint)
            found[twin.rule] = twin
    return found


@pytest.fixture(scope="session")
def policy_set() -> PolicySet:
    return PolicySet(REPO_ROOT / "policies")


@pytest.fixture(scope="session")
def rendered_tiers(
    tier_objects: dict[str, list[dict[str, Any]]],
) -> dict[str, list[dict[str, Any]]]:
    """The session's one render of each tier (tests/conftest.py)."""
    return tier_objects


@pytest.fixture
def checkout(gitops_checkout: Path) -> Path:
    """A copy of the GitOps folders to break (tests/conftest.py)."""
    return gitops_checkout
