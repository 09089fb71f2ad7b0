"""The Argo CD objects: valid against their CRD schemas, one Application per overlay."""

from __future__ import annotations

import copy

import yaml

from sutra.gitops.paths import TIERS, crd_schema_dir
from sutra.gitops.validate import DEFAULT_KUBE_VERSIONS, validate_objects

REPO_URL = "https://github.com/sutra-ai/sutra-deploy.git"


def test_argocd_objects_match_their_crd_schemas(argocd_objects, repo) -> None:
    kinds = sorted(o["kind"] for o in argocd_objects.objects)
    # argocd/ (2 projects, 3 admission Applications, the ApplicationSet), bootstrap/ (the root
    # and its project) and the argocd-cm patch.
    assert kinds == ["AppProject"] * 3 + ["Application"] * 4 + ["ApplicationSet", "ConfigMap"]
    found = validate_objects(
        argocd_objects.objects, "argocd", DEFAULT_KUBE_VERSIONS, crd_schema_dir(repo)
    )
    assert [str(v) for v in found] == []


def test_a_misplaced_field_fails_the_crd_schema(argocd_objects, repo) -> None:
    appset = copy.deepcopy(argocd_objects.get("ApplicationSet", "sutra"))
    appset["spec"]["syncPolicy"]["selfHeal"] = True  # belongs to the template's syncPolicy
    found = validate_objects([appset], "argocd", DEFAULT_KUBE_VERSIONS, crd_schema_dir(repo))
    assert [v.rule for v in found] == ["schema"]
    assert "spec.syncPolicy" in found[0].message


def test_the_project_is_confined_to_this_repository_and_namespace(
    argocd_objects, tier_table
) -> None:
    spec = argocd_objects.get("AppProject", "sutra")["spec"]
    assert spec["sourceRepos"] == [REPO_URL]
    # Besides sutra-ai, only the tiers the table lets ship there reach into monitoring.
    shipping = {t for e in tier_table["namespace"]["outside"] for t in e["tiers"]}
    assert {(d["name"], d["namespace"]) for d in spec["destinations"]} == {
        (f"sutra-{t}", "sutra-ai") for t in TIERS
    } | {(f"sutra-{t}", "monitoring") for t in shipping}
    assert all("server" not in d for d in spec["destinations"])
    assert spec["clusterResourceWhitelist"] == [{"group": "", "kind": "Namespace"}]


def test_the_destinations_outside_the_namespace_are_the_tier_tables(
    argocd_objects, tier_table, repo
) -> None:
    """The namespace_scope rule and the project agree: a destination outside the tiers'
    namespace exists exactly for the tiers the table lets ship an object there."""
    scope = tier_table["namespace"]
    base = yaml.safe_load((repo / "base" / "kustomization.yaml").read_text())
    assert scope["name"] == base["namespace"]
    spec = argocd_objects.get("AppProject", "sutra")["spec"]
    outside = {(d["name"], d["namespace"]) for d in spec["destinations"]
               if d["namespace"] != scope["name"]}  # fmt: skip
    listed = {(f"sutra-{tier}", e["namespace"]) for e in scope["outside"] for tier in e["tiers"]}
    assert outside == listed
    assert all(set(e["tiers"]) <= set(TIERS) for e in scope["outside"])


def test_the_project_admits_every_kind_and_namespace_a_tier_renders(
    argocd_objects, rendered
) -> None:
    spec = argocd_objects.get("AppProject", "sutra")["spec"]
    namespaced = {(w["group"], w["kind"]) for w in spec["namespaceResourceWhitelist"]}
    cluster = {(w["group"], w["kind"]) for w in spec["clusterResourceWhitelist"]}
    destinations = {(d["name"], d["namespace"]) for d in spec["destinations"]}
    for obj in rendered.objects:
        kind = (obj["apiVersion"].rpartition("/")[0], obj["kind"])
        if "namespace" in obj["metadata"]:
            assert kind in namespaced, kind
            assert (f"sutra-{rendered.tier}", obj["metadata"]["namespace"]) in destinations
        else:
            assert kind in cluster, kind


def test_the_applicationset_makes_one_application_per_overlay(argocd_objects) -> None:
    spec = argocd_objects.get("ApplicationSet", "sutra")["spec"]
    assert spec["goTemplate"] is True
    assert spec["goTemplateOptions"] == ["missingkey=error"]
    (generator,) = spec["generators"]
    assert generator["git"]["repoURL"] == REPO_URL
    assert generator["git"]["directories"] == [{"path": "overlays/*"}]
    assert spec["syncPolicy"] == {"preserveResourcesOnDeletion": True}
    template = spec["template"]
    assert template["metadata"]["name"] == "sutra-{{.path.basename}}"
    assert template["spec"]["project"] == "sutra"
    assert template["spec"]["source"]["path"] == "{{.path.path}}"
    # Each tier goes to its own cluster: the destination is derived from the overlay name.
    assert template["spec"]["destination"] == {
        "name": "sutra-{{.path.basename}}", "namespace": "sutra-ai"}  # fmt: skip


def _expand(text: str, tier: str) -> str:
    return text.replace("{{.path.basename}}", tier).replace("{{.path.path}}", f"overlays/{tier}")


def test_each_generated_application_is_allowed_by_the_project(argocd_objects, repo) -> None:
    project = argocd_objects.get("AppProject", "sutra")["spec"]
    template = argocd_objects.get("ApplicationSet", "sutra")["spec"]["template"]
    overlays = sorted(p.name for p in (repo / "overlays").iterdir() if p.is_dir())
    assert overlays == sorted(TIERS)
    destinations = set()
    for tier in overlays:
        dest = template["spec"]["destination"]
        pair = (_expand(dest["name"], tier), dest["namespace"])
        assert pair in {(d["name"], d["namespace"]) for d in project["destinations"]}
        assert template["spec"]["source"]["repoURL"] in project["sourceRepos"]
        assert (repo / _expand(template["spec"]["source"]["path"], tier)).is_dir()
        destinations.add(pair)
    assert len(destinations) == len(overlays)


def test_sync_is_automated_and_leaves_the_hpa_replica_counts_alone(argocd_objects, rendered_tiers):
    spec = argocd_objects.get("ApplicationSet", "sutra")["spec"]["template"]["spec"]
    assert spec["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    options = spec["syncPolicy"]["syncOptions"]
    assert "RespectIgnoreDifferences=true" in options
    assert "CreateNamespace=false" in options
    ignored = {
        (d["group"], d["kind"], d["name"])
        for d in spec["ignoreDifferences"] if d["jsonPointers"] == ["/spec/replicas"]
    }  # fmt: skip
    for rendered in rendered_tiers.values():
        targets = {
            ("apps", h["spec"]["scaleTargetRef"]["kind"], h["spec"]["scaleTargetRef"]["name"])
            for h in rendered.of_kind("HorizontalPodAutoscaler")
        }
        assert ignored == targets


def test_sync_waves_bring_the_namespace_then_storage_up_first(rendered) -> None:
    def wave(obj: dict) -> int:
        return int(obj["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", 0))

    assert wave(rendered.get("Namespace", "sutra-ai")) == -2
    storage = [o for o in rendered.objects
               if o["metadata"]["labels"].get("app.kubernetes.io/name") == "storage-server"
               and o["kind"] not in ("NetworkPolicy", "ServiceMonitor")]  # fmt: skip
    assert {o["kind"] for o in storage} >= {"StatefulSet", "Service", "ServiceAccount"}
    assert {wave(o) for o in storage} == {-1}
    for obj in rendered.objects:
        if obj["kind"] in ("Deployment", "CronJob", "HorizontalPodAutoscaler"):
            assert wave(obj) > -1, obj["metadata"]["name"]
