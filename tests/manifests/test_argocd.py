"""The Argo CD objects: valid against their CRD schemas, one Application per region overlay
and labelled cluster (the ApplicationSet's expansion over example clusters is in
tests/regions/test_applicationset.py)."""

from __future__ import annotations

import copy

import yaml

from sutra.gitops import regions
from sutra.gitops.paths import crd_schema_dir
from sutra.gitops.validate import DEFAULT_KUBE_VERSIONS, validate_objects

REPO_URL = "https://github.com/sutra-ai/sutra-deploy.git"
REGION = '{{index .metadata.labels "sutra.ai/region"}}'
TIER = '{{index .metadata.labels "sutra.ai/tier"}}'


def _clusters(tier_table) -> list[regions.Placement]:
    return regions.placements(tier_table)


def test_argocd_objects_match_their_crd_schemas(argocd_objects, repo, tier_table) -> None:
    kinds = sorted(o["kind"] for o in argocd_objects.objects)
    # argocd/ (2 projects, an admission Application per region cluster, the ApplicationSet),
    # bootstrap/ (the root and its project) and the argocd-cm patch.
    apps = len(_clusters(tier_table)) + 1
    assert apps == 6
    assert kinds == ["AppProject"] * 3 + ["Application"] * apps + ["ApplicationSet", "ConfigMap"]
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
    # Each region's cluster of a tier; besides sutra-ai, only the clusters of the tiers the
    # table lets ship there reach into monitoring.
    shipping = {t for e in tier_table["namespace"]["outside"] for t in e["tiers"]}
    clusters = _clusters(tier_table)
    assert {(d["name"], d["namespace"]) for d in spec["destinations"]} == {
        (p.cluster, "sutra-ai") for p in clusters
    } | {(p.cluster, "monitoring") for p in clusters if p.tier in shipping}
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
    listed = {(p.cluster, e["namespace"]) for e in scope["outside"]
              for p in _clusters(tier_table) if p.tier in e["tiers"]}  # fmt: skip
    assert outside == listed
    assert all(set(e["tiers"]) <= set(tier_table["tiers"]) for e in scope["outside"])


def test_the_project_admits_every_kind_and_namespace_a_region_renders(
    argocd_objects, region_objects
) -> None:
    """What Argo CD deploys is the region overlays, each to its cluster `sutra-<region>-<tier>`."""
    spec = argocd_objects.get("AppProject", "sutra")["spec"]
    namespaced = {(w["group"], w["kind"]) for w in spec["namespaceResourceWhitelist"]}
    cluster = {(w["group"], w["kind"]) for w in spec["clusterResourceWhitelist"]}
    destinations = {(d["name"], d["namespace"]) for d in spec["destinations"]}
    assert region_objects
    for (region, tier), objects in region_objects.items():
        for obj in objects:
            kind = (obj["apiVersion"].rpartition("/")[0], obj["kind"])
            if "namespace" in obj["metadata"]:
                assert kind in namespaced, kind
                assert (f"sutra-{region}-{tier}", obj["metadata"]["namespace"]) in destinations
            else:
                assert kind in cluster, kind


def test_the_applicationset_is_a_matrix_of_labelled_clusters_and_region_overlays(
    argocd_objects,
) -> None:
    spec = argocd_objects.get("ApplicationSet", "sutra")["spec"]
    assert spec["goTemplate"] is True
    assert spec["goTemplateOptions"] == ["missingkey=error"]
    (generator,) = spec["generators"]
    clusters, git = generator["matrix"]["generators"]
    # The clusters first: the git generator reads their labels (a consumer comes second).
    assert clusters == {"clusters": {"selector": {"matchExpressions": [
        {"key": "sutra.ai/region", "operator": "Exists"},
        {"key": "sutra.ai/tier", "operator": "Exists"}]}}}  # fmt: skip
    assert git["git"]["repoURL"] == REPO_URL
    assert git["git"]["revision"] == "main"
    assert git["git"]["directories"] == [{"path": f"regions/{REGION}/{TIER}"}]
    assert spec["syncPolicy"] == {"preserveResourcesOnDeletion": True}
    template = spec["template"]
    assert template["metadata"]["name"] == f"sutra-{REGION}-{TIER}"
    assert template["metadata"]["labels"]["sutra.ai/region"] == REGION
    assert template["metadata"]["labels"]["sutra.ai/tier"] == TIER
    assert template["spec"]["project"] == "sutra"
    assert template["spec"]["source"]["path"] == "{{.path.path}}"
    # The selected cluster itself; the project admits only the table's cluster names.
    assert template["spec"]["destination"] == {"name": "{{.name}}", "namespace": "sutra-ai"}


def test_each_region_cluster_is_allowed_by_the_project(argocd_objects, repo, tier_table) -> None:
    project = argocd_objects.get("AppProject", "sutra")["spec"]
    template = argocd_objects.get("ApplicationSet", "sutra")["spec"]["template"]
    assert template["spec"]["source"]["repoURL"] in project["sourceRepos"]
    allowed = {(d["name"], d["namespace"]) for d in project["destinations"]}
    overlays = sorted(f"{p.parent.name}/{p.name}" for p in (repo / "regions").glob("*/*"))
    clusters = _clusters(tier_table)
    assert overlays == sorted(p.name for p in clusters)
    for place in clusters:
        assert (place.cluster, template["spec"]["destination"]["namespace"]) in allowed
        assert (repo / place.path / "kustomization.yaml").is_file()
    # No two region overlays share a cluster.
    assert len({p.cluster for p in clusters}) == len(clusters)


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
