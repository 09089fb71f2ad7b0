"""Each overlay is exactly its row of the tier table (policies/data/tiers.yaml)."""

from __future__ import annotations

from pathlib import Path

import yaml

from sutra.gitops import shard_files, shards
from sutra.gitops.images import DIGEST


def _row(tier_table: dict, tier: str) -> dict:
    """The tier's workloads, each storage shard's included (storage.shards)."""
    return shards.workloads(tier_table, tier)


def _shard_copies(tier_table: dict, tier: str) -> set[tuple[str, str]]:
    """(kind, name) of the objects shards 1..N-1 of a sharded tier add (storage-shards)."""
    return {
        (kind, shards.name(base, i))
        for kind, base in shard_files.sources(tier_table, tier)
        for i in range(1, shards.count(tier_table, tier))
    }


def test_every_workload_of_the_table_is_rendered_with_its_kind(
    rendered, tier_table: dict, workload_names: tuple[str, ...]
) -> None:
    row = _row(tier_table, rendered.tier)
    assert set(workload_names) <= set(row)
    for name, spec in row.items():
        rendered.get(spec["kind"], name)
    running = {o["metadata"]["name"] for o in rendered.objects
               if o["kind"] in ("Deployment", "StatefulSet")}  # fmt: skip
    assert running == set(row)


def test_autoscaled_workloads_have_the_tables_range(rendered, tier_table: dict) -> None:
    for name, spec in _row(tier_table, rendered.tier).items():
        hpa = rendered.find("HorizontalPodAutoscaler", name)
        if "hpa" not in spec:
            assert hpa is None, f"{name} is fixed-size in {rendered.tier} but has an HPA"
            continue
        assert hpa is not None, f"{name} has no HPA in {rendered.tier}"
        target = hpa["spec"]["scaleTargetRef"]
        assert (target["apiVersion"], target["kind"], target["name"]) == (
            "apps/v1",
            spec["kind"],
            name,
        )
        assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (
            spec["hpa"]["min"],
            spec["hpa"]["max"],
        )


def test_fixed_workloads_have_the_tables_replicas(rendered, tier_table: dict) -> None:
    for name, spec in _row(tier_table, rendered.tier).items():
        if "replicas" in spec:
            assert rendered.get(spec["kind"], name)["spec"]["replicas"] == spec["replicas"]


def test_hpa_targets_set_no_replicas(rendered) -> None:
    for hpa in rendered.of_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        assert "replicas" not in rendered.get(ref["kind"], ref["name"])["spec"]


def test_no_source_file_sets_replicas_on_an_autoscaled_workload(
    tier_table: dict, repo: Path
) -> None:
    """Not even a patch that a later patch removes: the HPA alone owns the count."""
    autoscaled = {
        name
        for tier in tier_table["tiers"].values()
        for name, spec in tier["workloads"].items()
        if "hpa" in spec
    }
    files = [*(repo / "base").rglob("*.yaml"), *(repo / "overlays").rglob("*.yaml")]
    assert files
    for path in sorted(files):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") in ("Deployment", "StatefulSet"):
                name = doc["metadata"]["name"]
                if name in autoscaled:
                    assert "replicas" not in (doc.get("spec") or {}), f"{path}: {name}"


# Objects only some tiers have: the prometheus-adapter rules of the traffic-scaling tiers and
# the Redis cache (components/).
CACHE = {
    (kind, "sutra-redis") for kind in ("ServiceAccount", "Service", "Deployment", "NetworkPolicy")
}
# The replicated store (components/nats, components/storage-replicas).
REPLICATION = {
    (kind, name)
    for name in ("nats", "storage-replica")
    for kind in ("ServiceAccount", "Service", "StatefulSet", "NetworkPolicy", "PodDisruptionBudget")
} | {("ConfigMap", "nats"), ("Service", "nats-headless"), ("ServiceMonitor", "storage-replica")}
TIER_ONLY = {
    "medium": {("ConfigMap", "sutra-prometheus-adapter")} | CACHE | REPLICATION,
    "high": {("ConfigMap", "sutra-prometheus-adapter")} | CACHE | REPLICATION,
}
ELSEWHERE = {("ConfigMap", "sutra-prometheus-adapter"): "monitoring"}


def test_object_names_are_the_same_in_every_tier(rendered_tiers: dict, tier_table: dict) -> None:
    only = {t: TIER_ONLY.get(t, set()) | _shard_copies(tier_table, t) for t in rendered_tiers}
    names = {
        tier: sorted(
            (o["kind"], o["metadata"]["name"])
            for o in r.objects
            if (o["kind"], o["metadata"]["name"]) not in only[tier]
        )
        for tier, r in rendered_tiers.items()
    }
    assert names["low"] == names["medium"] == names["high"]
    for tier, extra in TIER_ONLY.items():
        for kind, name in extra:
            assert rendered_tiers[tier].find(kind, name) is not None, (tier, kind, name)


def test_everything_lives_in_the_sutra_namespace(rendered) -> None:
    for obj in rendered.objects:
        where = ELSEWHERE.get((obj["kind"], obj["metadata"]["name"]), "sutra-ai")
        if obj["kind"] == "Namespace":
            assert obj["metadata"]["name"] == "sutra-ai"
        else:
            assert obj["metadata"].get("namespace") == where, obj["metadata"]["name"]


def test_instance_label_names_the_tier_but_no_selector_does(rendered) -> None:
    for obj in rendered.objects:
        labels = obj["metadata"].get("labels") or {}
        assert labels.get("app.kubernetes.io/instance") == f"sutra-{rendered.tier}"
        assert labels.get("app.kubernetes.io/part-of") == "sutra-ai"
        selector = (obj.get("spec") or {}).get("selector") or {}
        match = selector.get("matchLabels", selector if obj["kind"] == "Service" else {})
        assert "app.kubernetes.io/instance" not in match, obj["metadata"]["name"]


def test_overlays_pin_every_image_by_digest_with_its_tag(
    rendered, repo: Path, workload_names: tuple[str, ...]
) -> None:
    overlay = yaml.safe_load((repo / "overlays" / rendered.tier / "kustomization.yaml").read_text())
    pins = {i["name"]: i for i in overlay["images"]}
    cached = rendered.find("Deployment", "sutra-redis") is not None
    logged = rendered.find("StatefulSet", "nats") is not None
    hybrid = rendered.get("Deployment", "sutra-hybrid")["spec"]["template"]["spec"]
    cuda = hybrid["containers"][0]["image"].startswith("ghcr.io/sutra-ai/sutra-hybrid-cuda:")
    assert set(pins) == {f"ghcr.io/sutra-ai/{w}" for w in workload_names} | (
        {"redis"} if cached else set()
    ) | ({"nats"} if logged else set()) | (
        {"ghcr.io/sutra-ai/sutra-hybrid-cuda"} if cuda else set()
    )
    for pin in pins.values():
        assert DIGEST.match(pin.get("digest", "")), pin  # what runs
        assert pin.get("newTag") and pin["newTag"] != "latest", pin  # what readers see
