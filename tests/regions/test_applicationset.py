"""The ApplicationSet yields one Application per labelled cluster whose labels name a region
overlay, as Argo CD would generate them for an example cluster list.

Argo CD cannot run here, and the project has no Go template engine: `expand` below evaluates
only the two template forms the ApplicationSet uses (`{{.a.b}}` and
`{{index .a.b "key"}}`), with Argo CD's missingkey=error, and refuses any other form, so a new
form in argocd/applicationset.yaml fails this test instead of being guessed at. The matrix is
simulated as Argo CD documents it: the clusters generator's parameters (name, server,
metadata.labels) are given to the git generator, whose directory is matched in this checkout.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sutra.gitops.render import render_argocd

from .conftest import REPO_ROOT

_FIELD = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_PATH = re.compile(r"\.([\w.]+)")
_INDEX = re.compile(r'index \.([\w.]+) "([^"]+)"')


class MissingKey(KeyError):
    """A template names a parameter the generators did not give (missingkey=error)."""


def _lookup(params: dict[str, Any], dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise MissingKey(dotted)
        value = value[part]
    return value


def expand(text: str, params: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if found := _INDEX.fullmatch(expr):
            mapping = _lookup(params, found.group(1))
            if found.group(2) not in mapping:
                raise MissingKey(found.group(2))
            return str(mapping[found.group(2)])
        if found := _PATH.fullmatch(expr):
            return str(_lookup(params, found.group(1)))
        raise NotImplementedError(f"template form not simulated here: {{{{{expr}}}}}")

    return _FIELD.sub(one, text)


def _selected(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    assert set(selector) == {"matchExpressions"}, selector
    for expr in selector["matchExpressions"]:
        assert expr["operator"] == "Exists", expr
        if expr["key"] not in labels:
            return False
    return True


def generate(appset: dict[str, Any], clusters: list[dict[str, Any]], root: Path) -> list[dict]:
    """The Applications (name, labels, path, destination) for CLUSTERS."""
    spec = appset["spec"]
    (generator,) = spec["generators"]
    first, second = generator["matrix"]["generators"]
    apps = []
    for cluster in clusters:
        labels = cluster["labels"]
        if not _selected(first["clusters"]["selector"], labels):
            continue
        params = {"name": cluster["name"], "server": cluster["server"],
                  "metadata": {"labels": labels, "annotations": {}}}  # fmt: skip
        for directory in second["git"]["directories"]:
            path = expand(directory["path"], params)
            if not (root / path).is_dir():
                continue  # the git generator finds no such directory: no parameters
            template = spec["template"]
            given = {**params, "path": {"path": path, "basename": Path(path).name,
                                        "segments": path.split("/")}}  # fmt: skip
            apps.append({
                "name": expand(template["metadata"]["name"], given),
                "labels": {k: expand(v, given) for k, v in template["metadata"]["labels"].items()},
                "path": expand(template["spec"]["source"]["path"], given),
                "destination": expand(template["spec"]["destination"]["name"], given),
            })  # fmt: skip
    return apps


def cluster(name: str, **labels: str) -> dict[str, Any]:
    keys = {"region": "sutra.ai/region", "tier": "sutra.ai/tier"}
    return {"name": name, "server": f"https://{name}.example:6443",
            "labels": {keys.get(k, k): v for k, v in labels.items()}}  # fmt: skip


@pytest.fixture(scope="module")
def argocd() -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in render_argocd(REPO_ROOT)}


def test_each_labelled_cluster_gets_its_region_overlay(argocd, placements) -> None:
    clusters = [cluster(p.cluster, region=p.region, tier=p.tier) for p in placements]
    clusters += [
        cluster("in-cluster"),  # Argo CD's own cluster: no labels, nothing
        cluster("sutra-us-east-low", region="us-east", tier="low"),  # no such overlay
        cluster("sutra-eu-west-staging", region="eu-west"),  # one label only
    ]
    apps = generate(argocd[("ApplicationSet", "sutra")], clusters, REPO_ROOT)
    assert [a["name"] for a in apps] == [p.cluster for p in placements]
    for app, place in zip(apps, placements, strict=True):
        assert app["path"] == place.path
        assert app["destination"] == place.cluster
        assert app["labels"] == {"sutra.ai/region": place.region, "sutra.ai/tier": place.tier,
                                 "app.kubernetes.io/part-of": "sutra-ai"}  # fmt: skip
    allowed = {d["name"] for d in argocd[("AppProject", "sutra")]["spec"]["destinations"]}
    assert {a["destination"] for a in apps} <= allowed


def test_a_cluster_registered_under_another_name_is_refused_by_the_project(argocd) -> None:
    """The Application is generated, for the cluster the labels select; the project admits
    only `sutra-<region>-<tier>`, so Argo CD refuses to sync it to a misnamed cluster."""
    apps = generate(argocd[("ApplicationSet", "sutra")],
                    [cluster("prod-7", region="eu-west", tier="low")], REPO_ROOT)  # fmt: skip
    assert [(a["name"], a["destination"]) for a in apps] == [("sutra-eu-west-low", "prod-7")]
    allowed = {d["name"] for d in argocd[("AppProject", "sutra")]["spec"]["destinations"]}
    assert "prod-7" not in allowed


def test_the_template_reads_only_parameters_the_generators_give(argocd) -> None:
    appset = argocd[("ApplicationSet", "sutra")]
    assert appset["spec"]["goTemplateOptions"] == ["missingkey=error"]
    broken = {
        **appset,
        "spec": {
            **appset["spec"],
            "template": {
                **appset["spec"]["template"],
                "metadata": {
                    **appset["spec"]["template"]["metadata"],
                    "name": "sutra-{{.path.tier}}",
                },
            },
        },
    }
    with pytest.raises(MissingKey):
        generate(broken, [cluster("sutra-eu-west-low", region="eu-west", tier="low")], REPO_ROOT)
