"""The tier table itself is consistent: the policies trust it."""

from __future__ import annotations

import itertools
import re

import pytest
import yaml

from .conftest import POLICY_DIR

TABLE = yaml.safe_load((POLICY_DIR / "data" / "tiers.yaml").read_text())
TIERS = TABLE["tiers"]
ALL_WORKLOADS = set().union(*(set(t["workloads"]) for t in TIERS.values()))


def test_tiers_are_named_for_clusters_and_overlays() -> None:
    """Each name becomes a cluster (`sutra-<tier>`), an overlay folder and a label value."""
    assert len(TIERS) >= 1
    assert all(re.fullmatch(r"[a-z][a-z0-9-]{0,20}", tier) for tier in TIERS)


def test_each_tier_runs_every_workload_of_the_tier_below() -> None:
    """Tiers only add workloads going up (medium and high add the Redis cache)."""
    rows = [set(t["workloads"]) for t in TIERS.values()]
    assert all(lower <= higher for lower, higher in itertools.pairwise(rows))
    assert rows[-1] == ALL_WORKLOADS


@pytest.mark.parametrize("tier", list(TIERS))
def test_each_workload_is_autoscaled_or_fixed(tier: str) -> None:
    for name, entry in TIERS[tier]["workloads"].items():
        assert entry["kind"] in {"Deployment", "StatefulSet"}, name
        assert ("hpa" in entry) != ("replicas" in entry), (
            f"{tier} {name}: exactly one of hpa/replicas"
        )
        if "hpa" in entry:
            assert 1 <= entry["hpa"]["min"] <= entry["hpa"]["max"], f"{tier} {name}"
        else:
            assert entry["replicas"] >= 1, f"{tier} {name}"


def test_kinds_agree_across_tiers() -> None:
    for name in ALL_WORKLOADS:
        kinds = {t["workloads"][name]["kind"] for t in TIERS.values() if name in t["workloads"]}
        assert len(kinds) == 1, name


def test_hpa_section_names_autoscaled_workloads() -> None:
    autoscaled = {n for t in TIERS.values() for n, e in t["workloads"].items() if "hpa" in e}
    assert set(TABLE["hpa"]) == autoscaled
    for name, spec in TABLE["hpa"].items():
        assert spec["metrics"], name
        assert all(0 < v <= 100 for v in spec["metrics"].values()), name


def test_storage_is_a_single_statefulset() -> None:
    storage = TABLE["storage"]
    for tier in TIERS.values():
        assert tier["workloads"][storage["workload"]] == {"kind": "StatefulSet", "replicas": 1}
    assert storage["min_volume_gi"] > 0
    assert storage["access_mode"] == "ReadWriteOnce"
    assert storage["workload"] not in storage["clients"]
    assert set(storage["clients"]) - ALL_WORKLOADS == {"storage-snapshot"}


def test_required_labels() -> None:
    assert "app.kubernetes.io/name" in TABLE["required_labels"]


@pytest.mark.parametrize("tier", list(TIERS))
def test_each_tier_has_a_monthly_cost_range(tier: str) -> None:
    """`sutra tiers report` compares each tier's estimate with this range (USD a month)."""
    budget = TIERS[tier]["cost_usd_month"]
    assert set(budget) == {"min", "max"}, tier
    assert 0 <= budget["min"] <= budget["max"], tier
