"""`sutra tiers report`: each tier's pods, resources, volumes and monthly cost estimate, checked
against the rendered manifests and the price table by hand."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from sutra.gitops import render, sizing, sizing_report, tier_docs, tier_new, tiers

ROOT = Path(__file__).resolve().parents[2]
SUTRA = str(Path(sys.executable).parent / "sutra")
PRICES = yaml.safe_load((ROOT / sizing.PRICES).read_text())


def sutra(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SUTRA, *args], capture_output=True, text=True, timeout=300)


def _cores(value: str) -> float:
    return int(value[:-1]) / 1000 if value.endswith("m") else float(value)


def _gib(value: str) -> float:
    units = {"Mi": 1 / 1024, "Gi": 1.0}
    return float(value[:-2]) * units[value[-2:]]


def _by_kind(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


@pytest.fixture(scope="module")
def low() -> sizing.TierSize:
    return sizing.size_tiers(["low"], ROOT)[0]


def test_one_workloads_numbers_match_its_rendered_manifests(low: sizing.TierSize) -> None:
    """sutra-api of low: requests of its containers x its HPA's replicas, summed by hand."""
    objects = render.render_tier("low", ROOT)
    hpa = _by_kind(objects, "HorizontalPodAutoscaler", "sutra-api")["spec"]
    pod = _by_kind(objects, "Deployment", "sutra-api")["spec"]["template"]["spec"]
    cpu = sum(_cores(c["resources"]["requests"]["cpu"]) for c in pod["containers"])
    memory = sum(_gib(c["resources"]["requests"]["memory"]) for c in pod["containers"])
    report = sizing_report.as_json([low])["tiers"][0]
    api = next(w for w in report["workloads"] if w["name"] == "sutra-api")
    assert api["replicas"] == {"min": hpa["minReplicas"], "max": hpa["maxReplicas"]}
    for scale, count in (("min", hpa["minReplicas"]), ("max", hpa["maxReplicas"])):
        assert api["requests"][scale]["cpu"] == pytest.approx(cpu * count)
        assert api["requests"][scale]["memory_gib"] == pytest.approx(memory * count, abs=1e-3)
        hourly = cpu * PRICES["cpu_per_vcpu_hour"] + memory * PRICES["memory_per_gib_hour"]
        expected = count * hourly * PRICES["hours_per_month"]
        assert api["cost_usd_month"][scale] == pytest.approx(expected, abs=0.01)


def test_volumes_come_from_claim_templates_and_claims(low: sizing.TierSize) -> None:
    objects = render.render_tier("low", ROOT)
    template = _by_kind(objects, "StatefulSet", "storage-server")["spec"]["volumeClaimTemplates"]
    claim = _by_kind(objects, "PersistentVolumeClaim", "storage-snapshots")
    sizes = [_gib(t["spec"]["resources"]["requests"]["storage"]) for t in template]
    sizes.append(_gib(claim["spec"]["resources"]["requests"]["storage"]))
    report = sizing_report.as_json([low])["tiers"][0]
    assert report["storage_gib"] == {"min": sum(sizes), "max": sum(sizes)}
    assert report["claims"] == [{"name": "storage-snapshots", "size_gib": sizes[-1]}]


def test_the_tier_cost_is_requests_and_volumes_at_the_price_tables_rates(
    low: sizing.TierSize,
) -> None:
    hours = PRICES["hours_per_month"]
    assert hours == 730
    for scale in sizing.SCALES:
        cpu, memory = low.resources("requests", scale)
        expected = (
            float(cpu) * PRICES["cpu_per_vcpu_hour"] * hours
            + float(memory) / 2**30 * PRICES["memory_per_gib_hour"] * hours
            + float(low.storage(scale)) / 2**30 * PRICES["volume_per_gib_month"]
        )
        assert float(low.cost(scale)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("cost", "wording"),
    [("49.99", "below"), ("50", "within"), ("100", "within"), ("100.01", "above")],
)
def test_the_comparison_with_the_tables_range(cost: str, wording: str) -> None:
    assert sizing.compare(Decimal(cost), {"min": 50, "max": 100}) == wording
    assert sizing.compare(Decimal(cost), None) == "no range"


def test_the_text_report_names_each_tier_and_its_verdicts() -> None:
    done = sutra("tiers")
    assert done.returncode == 0, done.stderr
    assert sutra("tiers", "report").stdout == done.stdout
    for tier, row in tiers.load(ROOT)["tiers"].items():
        budget = row["cost_usd_month"]
        assert f"{tier}: cost range ${budget['min']:,}-${budget['max']:,} a month" in done.stdout
    verdicts = re.findall(r"estimate at minimum \$[\d,]+ \((\w+)\), at maximum", done.stdout)
    assert len(verdicts) == len(tiers.names(ROOT))
    assert set(verdicts) <= {"within", "below", "above"}
    assert "priced on requests" in done.stdout and "ESTIMATE" in done.stdout


def test_json_for_scripts() -> None:
    done = sutra("tiers", "report", "--json", "medium")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["priced_on"] == "requests"
    assert set(report["prices"]) == {
        "hours_per_month",
        "cpu_per_vcpu_hour",
        "memory_per_gib_hour",
        "volume_per_gib_month",
    }
    (medium,) = report["tiers"]
    assert medium["tier"] == "medium"
    assert medium["cost_range_usd_month"] == {"min": 200, "max": 500}
    assert set(medium["comparison"].values()) <= {"within", "below", "above"}
    for workload in medium["workloads"]:
        assert set(workload["requests"]) == set(workload["limits"]) == {"min", "max"}
        assert set(workload["requests"]["min"]) == {"cpu", "memory_gib"}
    total = sum(w["cost_usd_month"]["max"] for w in medium["workloads"])
    total += sum(c["size_gib"] * report["prices"]["volume_per_gib_month"] for c in medium["claims"])
    assert medium["cost_usd_month"]["max"] == pytest.approx(total, abs=0.05)


def test_an_unknown_tier_is_a_usage_error() -> None:
    done = sutra("tiers", "report", "huge")
    assert done.returncode == 2
    assert "unknown tier 'huge'" in done.stderr


def test_a_price_change_makes_the_docs_block_stale(gitops_checkout: Path) -> None:
    assert tier_docs.FILES.stale(gitops_checkout) == []
    path = gitops_checkout / sizing.PRICES
    text = path.read_text()
    path.write_text(text.replace("cpu_per_vcpu_hour: 0.", "cpu_per_vcpu_hour: 1.", 1))
    assert tier_docs.FILES.stale(gitops_checkout) == [
        ("base/README.md", f"is out of date with {tier_docs.SOURCES}")
    ]
    assert sutra("docs", "generate", "--check").returncode == 1
    assert sutra("docs", "generate").returncode == 0
    assert tier_docs.FILES.stale(gitops_checkout) == []


def test_a_new_tier_copies_the_cost_range() -> None:
    text = (ROOT / tiers.TABLE).read_text()
    table = yaml.safe_load(tier_new.table_text(text, "high", "xl"))
    assert table["tiers"]["xl"]["cost_usd_month"] == table["tiers"]["high"]["cost_usd_month"]
