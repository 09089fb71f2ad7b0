"""Argo CD deploys gatekeeper/ to every tier's cluster, before the tiers, through a project that
allows exactly the generated kinds. Argo CD itself cannot run here: the objects are checked
against its CRD schemas and the rules it applies (project whitelists, sync waves)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sutra.gitops.paths import crd_schema_dir
from sutra.gitops.render import render_argocd
from sutra.gitops.validate import validate_objects

from .conftest import REPO_ROOT, api_group

WAVE = "argocd.argoproj.io/sync-wave"


@pytest.fixture(scope="module")
def argocd() -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in render_argocd(REPO_ROOT)}


def wave(obj: dict[str, Any]) -> int:
    return int(obj["metadata"].get("annotations", {}).get(WAVE, 0))


def test_the_admission_objects_match_the_argocd_schemas(argocd) -> None:
    objects = [argocd[("AppProject", "sutra-admission")],
               argocd[("ApplicationSet", "sutra-admission")]]  # fmt: skip
    assert validate_objects(objects, "argocd", ("1.37.0",), crd_schema_dir()) == []
    broken = copy.deepcopy(objects[1])
    broken["spec"]["template"]["spec"]["syncWave"] = -1  # the wave is an annotation
    (found,) = validate_objects([broken], "argocd", ("1.37.0",), crd_schema_dir())
    assert found.rule == "schema" and "syncWave" in found.message


def test_one_admission_application_per_tier_cluster(argocd) -> None:
    admission = argocd[("ApplicationSet", "sutra-admission")]["spec"]
    tiers = argocd[("ApplicationSet", "sutra")]["spec"]
    # The same generator, so every tier cluster gets the admission policies.
    assert admission["generators"] == tiers["generators"]
    app = admission["template"]["spec"]
    assert app["destination"]["name"] == tiers["template"]["spec"]["destination"]["name"]
    assert app["project"] == "sutra-admission"
    assert app["source"]["path"] == "gatekeeper"
    assert (REPO_ROOT / app["source"]["path"] / "kustomization.yaml").is_file()
    assert app["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    project = argocd[("AppProject", "sutra-admission")]["spec"]
    overlays = sorted(p.name for p in (REPO_ROOT / "overlays").iterdir() if p.is_dir())
    allowed = {(d["name"], d["namespace"]) for d in project["destinations"]}
    for tier in overlays:
        name = app["destination"]["name"].replace("{{.path.basename}}", tier)
        assert (name, app["destination"]["namespace"]) in allowed
    assert project["sourceRepos"] == [app["source"]["repoURL"]]


def test_admission_comes_before_the_tiers(argocd) -> None:
    admission = argocd[("ApplicationSet", "sutra-admission")]
    tiers = argocd[("ApplicationSet", "sutra")]
    assert wave(admission) < wave(tiers)
    assert wave(admission["spec"]["template"]) < wave(tiers["spec"]["template"])


def test_the_project_allows_exactly_the_generated_kinds(argocd, gatekeeper_objects) -> None:
    project = argocd[("AppProject", "sutra-admission")]["spec"]
    allowed = {(e["group"], e["kind"]) for e in project["clusterResourceWhitelist"]}
    assert allowed == {(api_group(o), o["kind"]) for o in gatekeeper_objects}
    assert project["namespaceResourceBlacklist"] == [{"group": "*", "kind": "*"}]
    # The tiers' project stays without cluster-scoped kinds beyond its Namespace.
    tier_project = argocd[("AppProject", "sutra")]["spec"]
    assert tier_project["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]


def test_templates_are_applied_before_their_constraints(gatekeeper_objects) -> None:
    templates = [o for o in gatekeeper_objects if o["kind"] == "ConstraintTemplate"]
    constraints = [o for o in gatekeeper_objects if o["kind"] != "ConstraintTemplate"]
    assert max(map(wave, templates)) < min(map(wave, constraints))
    for constraint in constraints:
        options = constraint["metadata"]["annotations"]["argocd.argoproj.io/sync-options"]
        assert "SkipDryRunOnMissingResource=true" in options.split(",")
