"""Argo CD deploys gatekeeper/ to every tier's cluster before the tiers: a root Application
(argocd/bootstrap/) syncs argocd/, whose sync waves bring the projects, then one admission
Application per tier cluster, then the tiers' ApplicationSet. Argo CD itself cannot run here:
the objects are checked against its CRD schemas and against the rules it applies (waves order
one Application's sync and wait for health; project whitelists), and the Application health
check it needs for that is checked for its shape (no Lua interpreter here)."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import yaml

from sutra.gitops.paths import crd_schema_dir
from sutra.gitops.render import ARGOCD_CM_PATCH, kustomize, parse, render_argocd
from sutra.gitops.validate import validate_objects

from .conftest import REPO_ROOT, api_group

WAVE = "argocd.argoproj.io/sync-wave"
HEALTH_KEY = "resource.customizations.health.argoproj.io_Application"
ARGO_KINDS = ("AppProject", "Application", "ApplicationSet")


@pytest.fixture(scope="module")
def argocd() -> dict[tuple[str, str], dict[str, Any]]:
    """Everything: argocd/, argocd/bootstrap/ and the argocd-cm patch, as `sutra check` reads."""
    return {(o["kind"], o["metadata"]["name"]): o for o in render_argocd(REPO_ROOT)}


@pytest.fixture(scope="module")
def synced() -> list[dict[str, Any]]:
    """What the root Application syncs: argocd/ rendered as its repo-server would."""
    return parse(kustomize(REPO_ROOT / "argocd"))


def wave(obj: dict[str, Any]) -> int:
    return int((obj["metadata"].get("annotations") or {}).get(WAVE, 0))


def region_overlays() -> list[tuple[str, str]]:
    """(region, tier) of every regions/<region>/<tier>: what the ApplicationSet deploys."""
    return sorted(
        (p.parent.name, p.name) for p in (REPO_ROOT / "regions").glob("*/*") if p.is_dir()
    )


def admission_apps(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    apps = [o for o in objects if o["kind"] == "Application"]
    return [o for o in apps if o["spec"]["project"] == "sutra-admission"]


def ordering_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Why the waves of one sync would not bring each project before the objects that use it
    and every admission Application before the tiers' ApplicationSet (empty when they do)."""
    problems = []
    projects = {o["metadata"]["name"]: wave(o) for o in objects if o["kind"] == "AppProject"}
    for obj in objects:
        if obj["kind"] not in ("Application", "ApplicationSet"):
            continue
        spec = obj["spec"]["template"]["spec"] if obj["kind"] == "ApplicationSet" else obj["spec"]
        name = f"{obj['kind']} {obj['metadata']['name']}"
        if spec["project"] not in projects:
            problems.append(f"{name}: project {spec['project']} is not synced with it")
        elif projects[spec["project"]] >= wave(obj):
            problems.append(f"{name}: wave {wave(obj)} is not after its project's")
    tiers = [o for o in objects if o["kind"] == "ApplicationSet"]
    admission = admission_apps(objects)
    if not tiers or not admission:
        problems.append("no tier ApplicationSet or no admission Application")
    for app in admission:
        for appset in tiers:
            if wave(app) >= wave(appset):
                names = app["metadata"]["name"], appset["metadata"]["name"]
                problems.append("{}: not before {}".format(*names))
    return problems


_LUA_SKIP = re.compile(r'--[^\n]*|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_LUA_BLOCK = re.compile(r"\b(if|for|while|function|do|repeat|end|until|then)\b")


def lua_problems(source: str) -> list[str]:
    """What makes a health script unusable, as far as can be told without running it: blocks
    that do not close, a missing final `return hs`, no status taken from obj.status.health."""
    code = _LUA_SKIP.sub('""', source)
    depth, problems = 0, []
    for word in _LUA_BLOCK.findall(code):
        # `for`/`while` open their block with `do`; `if` with `then`, closed by `end`.
        if word in ("if", "function", "do", "repeat"):
            depth += 1
        elif word in ("end", "until"):
            depth -= 1
            if depth < 0:
                problems.append("an `end` closes no block")
                depth = 0
    if depth:
        problems.append(f"{depth} block(s) not closed")
    if code.strip().splitlines()[-1].strip() != "return hs":
        problems.append("does not end with `return hs`")
    if "hs.status = obj.status.health.status" not in code:
        problems.append("never takes the status from obj.status.health.status")
    return problems


def test_every_argocd_object_matches_its_schema(argocd) -> None:
    objects = list(argocd.values())
    kinds = {o["kind"] for o in objects}
    assert kinds == {*ARGO_KINDS, "ConfigMap"}
    assert validate_objects(objects, "argocd", ("1.37.0",), crd_schema_dir()) == []
    broken = copy.deepcopy(argocd[("Application", "sutra-root")])
    broken["spec"]["syncWave"] = -1  # the wave is an annotation
    (found,) = validate_objects([broken], "argocd", ("1.37.0",), crd_schema_dir())
    assert found.rule == "schema" and "syncWave" in found.message


def test_the_root_application_syncs_this_folder_and_nothing_else(argocd, synced) -> None:
    root = argocd[("Application", "sutra-root")]["spec"]
    project = argocd[("AppProject", "sutra-root")]["spec"]
    assert root["project"] == "sutra-root"
    assert root["source"]["path"] == "argocd"
    assert root["source"]["repoURL"] in project["sourceRepos"]
    assert root["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    destination = (root["destination"]["name"], root["destination"]["namespace"])
    assert destination == ("in-cluster", "argocd")
    assert destination in {(d["name"], d["namespace"]) for d in project["destinations"]}
    # The project admits exactly the kinds of argocd/, all namespaced, all in argocd.
    allowed = {(e["group"], e["kind"]) for e in project["namespaceResourceWhitelist"]}
    assert allowed == {(api_group(o), o["kind"]) for o in synced}
    assert not project.get("clusterResourceWhitelist")
    assert {o["metadata"]["namespace"] for o in synced} == {"argocd"}
    # The root is applied by hand, not synced by itself.
    names = {(o["kind"], o["metadata"]["name"]) for o in synced}
    assert ("Application", "sutra-root") not in names
    assert ("AppProject", "sutra-root") not in names


def test_one_admission_application_per_tier_cluster(synced, argocd) -> None:
    """Every region overlay's cluster (`sutra-<region>-<tier>`, the only name the tiers'
    project admits for it) gets the admission policies."""
    apps = {o["metadata"]["name"]: o["spec"] for o in admission_apps(synced)}
    assert sorted(apps) == sorted(f"sutra-admission-{r}-{t}" for r, t in region_overlays())
    tiers = argocd[("ApplicationSet", "sutra")]["spec"]["template"]["spec"]
    project = argocd[("AppProject", "sutra-admission")]["spec"]
    allowed = {(d["name"], d["namespace"]) for d in project["destinations"]}
    tier_project = argocd[("AppProject", "sutra")]["spec"]
    tier_clusters = {d["name"] for d in tier_project["destinations"]}
    for region, tier in region_overlays():
        app = apps[f"sutra-admission-{region}-{tier}"]
        # The same cluster as the tier's Application in that region.
        cluster = f"sutra-{region}-{tier}"
        assert cluster in tier_clusters
        assert app["destination"] == {"name": cluster, "namespace": "gatekeeper-system"}
        assert (cluster, "gatekeeper-system") in allowed
        assert app["source"]["path"] == "gatekeeper"
        assert app["source"]["repoURL"] == tiers["source"]["repoURL"]
        assert app["source"]["targetRevision"] == tiers["source"]["targetRevision"]
        assert app["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert (REPO_ROOT / "gatekeeper" / "kustomization.yaml").is_file()
    assert project["sourceRepos"] == [tiers["source"]["repoURL"]]


def test_projects_then_admission_then_the_tiers(synced) -> None:
    assert ordering_problems(synced) == []
    projects = [wave(o) for o in synced if o["kind"] == "AppProject"]
    others = [wave(o) for o in synced if o["kind"] != "AppProject"]
    assert max(projects) < min(others)
    tiers = [o for o in synced if o["kind"] == "ApplicationSet"]
    assert [o["metadata"]["name"] for o in tiers] == ["sutra"]
    assert max(map(wave, admission_apps(synced))) < wave(tiers[0])


@pytest.mark.parametrize(
    ("kind", "name", "value", "problem"),
    [
        (
            "Application",
            "sutra-admission-us-east-high",
            "0",
            "sutra-admission-us-east-high: not before sutra",
        ),
        ("AppProject", "sutra-admission", "-1", "Application sutra-admission-eu-west-low: wave -1"),
        ("AppProject", "sutra", "0", "ApplicationSet sutra: wave 0 is not after"),
    ],
)
def test_a_wave_out_of_order_is_found(synced, kind, name, value, problem) -> None:
    objects = copy.deepcopy(synced)
    (target,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    target["metadata"].setdefault("annotations", {})[WAVE] = value
    assert any(p.startswith(problem) for p in ordering_problems(objects)), problem


def test_the_application_health_check_is_shipped_for_argocd_cm(argocd) -> None:
    cm = argocd[("ConfigMap", "argocd-cm")]
    assert cm["metadata"]["namespace"] == "argocd"
    assert set(cm["data"]) == {HEALTH_KEY}
    assert lua_problems(cm["data"][HEALTH_KEY]) == []
    # A patch to merge: no kustomization applies (and so replaces) Argo CD's settings.
    bootstrap = yaml.safe_load((REPO_ROOT / "argocd/bootstrap/kustomization.yaml").read_text())
    assert ARGOCD_CM_PATCH.rsplit("/", 1)[1] not in bootstrap["resources"]
    header = (REPO_ROOT / ARGOCD_CM_PATCH).read_text().split("\napiVersion:")[0]
    assert "kubectl -n argocd patch configmap argocd-cm --type merge" in header


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (lambda s: re.sub(r"^ *end\n", "", s, count=1, flags=re.M), "1 block(s) not closed"),
        (lambda s: s.replace("return hs", "return nil"), "does not end with `return hs`"),
        (lambda s: s.replace("obj.status.health.status", "obj.status.sync.status"), "never"),
        (lambda s: s + "end\n", "an `end` closes no block"),
    ],
)
def test_a_broken_health_check_is_found(argocd, edit, problem) -> None:
    broken = edit(argocd[("ConfigMap", "argocd-cm")]["data"][HEALTH_KEY])
    assert any(p.startswith(problem) for p in lua_problems(broken)), lua_problems(broken)


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
