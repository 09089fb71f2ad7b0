"""HPA metrics and behaviour from the scaling document; disruption budgets that never block."""

from __future__ import annotations


def _resource_targets(hpa: dict) -> dict[str, int]:
    out = {}
    for metric in hpa["spec"]["metrics"]:
        if metric["type"] == "Pods":
            continue
        assert metric["type"] == "Resource"
        target = metric["resource"]["target"]
        assert target["type"] == "Utilization"
        out[metric["resource"]["name"]] = target["averageUtilization"]
    return out


def _pods_targets(hpa: dict) -> dict[str, str]:
    out = {}
    for metric in hpa["spec"]["metrics"]:
        if metric["type"] == "Pods":
            assert metric["pods"]["target"]["type"] == "AverageValue"
            out[metric["pods"]["metric"]["name"]] = str(metric["pods"]["target"]["averageValue"])
    return out


def test_hpa_metrics_are_the_scaling_documents(rendered, tier_table: dict) -> None:
    expected = tier_table["hpa"]
    hpas = {h["metadata"]["name"]: h for h in rendered.of_kind("HorizontalPodAutoscaler")}
    assert set(hpas) == set(expected)
    for name, spec in expected.items():
        assert hpas[name]["apiVersion"] == "autoscaling/v2"
        assert _resource_targets(hpas[name]) == spec["metrics"]


def test_the_api_scales_on_traffic_in_medium_and_high_only(rendered, tier_table: dict) -> None:
    """Requests per second (100 per pod, the scaling document's figure) and P95 latency."""
    want = {"medium": {"sutra_api_requests_per_second": "100",
                       "sutra_api_request_duration_p95_seconds": "250m"}}  # fmt: skip
    want["high"] = want["medium"]
    for name, spec in tier_table["hpa"].items():
        table = spec.get("pods_metrics", {}).get(rendered.tier, {})
        assert _pods_targets(rendered.get("HorizontalPodAutoscaler", name)) == table, name
        if name == "sutra-api":
            assert table == want.get(rendered.tier, {})


def test_hpa_behaviour_is_the_scaling_documents(rendered, tier_table: dict) -> None:
    for name, spec in tier_table["hpa"].items():
        behavior = rendered.get("HorizontalPodAutoscaler", name)["spec"].get("behavior")
        if "behavior" not in spec:
            assert behavior is None, name
            continue
        for direction, want in spec["behavior"].items():
            got = behavior[direction]
            assert got["stabilizationWindowSeconds"] == want["stabilizationWindowSeconds"]
            assert got["policies"] == [
                {
                    "type": "Percent",
                    "value": want["percent"],
                    "periodSeconds": want["periodSeconds"],
                }
            ]


def _max_replicas(rendered, kind: str, name: str) -> int:
    hpa = rendered.find("HorizontalPodAutoscaler", name)
    if hpa is not None:
        return hpa["spec"]["maxReplicas"]
    return rendered.get(kind, name)["spec"].get("replicas", 1)


def test_every_workload_that_can_run_several_pods_has_a_pdb(rendered) -> None:
    pdbs = {p["metadata"]["name"]: p for p in rendered.of_kind("PodDisruptionBudget")}
    for kind in ("Deployment", "StatefulSet"):
        for workload in rendered.of_kind(kind):
            name = workload["metadata"]["name"]
            if _max_replicas(rendered, kind, name) > 1:
                assert name in pdbs, f"{name} can run several pods but has no PDB"
                selector = workload["spec"]["selector"]["matchLabels"]
                assert pdbs[name]["spec"]["selector"]["matchLabels"] == selector


def test_no_pdb_can_block_a_node_drain(rendered) -> None:
    for pdb in rendered.of_kind("PodDisruptionBudget"):
        name = pdb["metadata"]["name"]
        hpa = rendered.find("HorizontalPodAutoscaler", name)
        owner = rendered.find("Deployment", name) or rendered.get("StatefulSet", name)
        fewest = hpa["spec"]["minReplicas"] if hpa else owner["spec"].get("replicas", 1)
        if "maxUnavailable" in pdb["spec"]:
            assert pdb["spec"]["maxUnavailable"] not in (0, "0%"), name
        else:
            assert pdb["spec"]["minAvailable"] < fewest, name
