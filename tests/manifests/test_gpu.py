"""GPU nodes for sutra-hybrid: only where the tier table allows them, only through
components/hybrid-gpu, and never without the toleration and node selector that place them."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from sutra.gitops.paths import policy_dir
from sutra.gitops.policy import PolicySet

GPU = "nvidia.com/gpu"
COMPONENT = "../../components/hybrid-gpu"


def gpu_workloads(tier_table: dict[str, Any], tier: str) -> list[str]:
    return tier_table["tiers"][tier].get("gpu", {}).get("workloads", [])


def gpu_counts(rendered) -> dict[str, str]:
    """Workload name -> the GPU limit of its containers (init containers too)."""
    found = {}
    for owner, template in rendered.pod_templates():
        spec = template["spec"]
        for container in spec.get("initContainers", []) + spec["containers"]:
            resources = container.get("resources", {})
            if GPU in resources.get("limits", {}) or GPU in resources.get("requests", {}):
                found[owner["metadata"]["name"]] = resources.get("limits", {}).get(GPU)
    return found


@pytest.fixture(scope="module")
def policy_set(repo) -> PolicySet:
    return PolicySet(policy_dir(repo))


def test_the_table_gives_gpus_to_sutra_hybrid_only(tier_table: dict) -> None:
    rows = {t: gpu_workloads(tier_table, t) for t in tier_table["tiers"]}
    assert any(rows.values()), "no tier has GPU nodes"
    assert not all(rows.values()), "every tier has GPU nodes"
    for tier, names in rows.items():
        assert set(names) <= {"sutra-hybrid"}, tier
        assert set(names) <= set(tier_table["tiers"][tier]["workloads"]), tier


def test_a_tier_uses_the_component_exactly_when_its_row_allows_gpus(
    repo, tier: str, tier_table: dict
) -> None:
    kustomization = yaml.safe_load((repo / "overlays" / tier / "kustomization.yaml").read_text())
    uses = COMPONENT in (kustomization.get("components") or [])
    assert uses == ("sutra-hybrid" in gpu_workloads(tier_table, tier)), tier


def test_gpus_render_only_where_the_table_allows(rendered, tier_table: dict) -> None:
    expected = {name: "1" for name in gpu_workloads(tier_table, rendered.tier)}
    assert gpu_counts(rendered) == expected


def test_the_gpu_pods_are_placed_and_run_cuda(rendered_tiers: dict, tier_table: dict) -> None:
    tiers = [t for t in tier_table["tiers"] if gpu_workloads(tier_table, t)]
    assert tiers
    for tier in tiers:
        spec = rendered_tiers[tier].get("Deployment", "sutra-hybrid")["spec"]["template"]["spec"]
        assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
        assert {"key": GPU, "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]
        (container,) = spec["containers"]
        assert container["resources"]["requests"][GPU] == container["resources"]["limits"][GPU]
        assert container["image"].startswith("ghcr.io/sutra-ai/sutra-hybrid-cuda:")
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["SUTRA_DEVICE"] == "cuda"


def test_the_component_is_the_only_place_gpus_are_written(repo) -> None:
    files = [
        path
        for folder in ("base", "overlays", "components")
        for path in (repo / folder).rglob("*.yaml")
        if GPU in path.read_text()
    ]
    assert files and all(p.parent == repo / "components" / "hybrid-gpu" for p in files), files


def _hybrid(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "sutra-hybrid"
    )


def test_the_gate_rejects_gpus_outside_the_plan(
    policy_set: PolicySet, rendered_tiers: dict, tier_table: dict
) -> None:
    gpu_tier = next(t for t in tier_table["tiers"] if gpu_workloads(tier_table, t))
    cpu_tier = next(t for t in tier_table["tiers"] if not gpu_workloads(tier_table, t))
    # sutra-hybrid's GPU pod spec, copied into a tier whose row gives none.
    placed = _hybrid(rendered_tiers[gpu_tier].objects)["spec"]["template"]["spec"]
    objects = copy.deepcopy(rendered_tiers[cpu_tier].objects)
    _hybrid(objects)["spec"]["template"]["spec"] = copy.deepcopy(placed)
    assert "gpu_workloads" in {v.rule for v in policy_set.evaluate(objects, cpu_tier)}
    # Another workload asking for one in the GPU tier.
    objects = copy.deepcopy(rendered_tiers[gpu_tier].objects)
    api = next(
        o for o in objects if o["metadata"]["name"] == "sutra-api" and o["kind"] == "Deployment"
    )
    api["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"][GPU] = "1"
    names = {v.name for v in policy_set.evaluate(objects, gpu_tier) if v.rule == "gpu_workloads"}
    assert names == {"sutra-api"}


def test_the_gate_rejects_a_gpu_pod_without_its_toleration(
    policy_set: PolicySet, rendered_tiers: dict, tier_table: dict
) -> None:
    gpu_tier = next(t for t in tier_table["tiers"] if gpu_workloads(tier_table, t))
    objects = copy.deepcopy(rendered_tiers[gpu_tier].objects)
    del _hybrid(objects)["spec"]["template"]["spec"]["tolerations"]
    messages = [
        v.message for v in policy_set.evaluate(objects, gpu_tier) if v.rule == "gpu_workloads"
    ]
    assert len(messages) == 1 and "tolerating" in messages[0], messages
