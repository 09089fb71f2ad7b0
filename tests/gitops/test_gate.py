"""The gate's parts in process: kustomize errors, version selection, quantities, totals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from sutra.gitops import check, render, validate
from sutra.gitops.quantities import format_cpu, format_memory, parse_quantity

CHECKOUT = Path(__file__).resolve().parents[2]


@pytest.fixture
def repo(gitops_checkout: Path) -> Path:
    return gitops_checkout


def test_a_broken_kustomization_raises_kustomizes_error_on_one_line(repo: Path) -> None:
    (repo / "base" / "sutra-api" / "kustomization.yaml").write_text("resources:\n  - nope.yaml\n")
    with pytest.raises(render.RenderError) as caught:
        render.render_tier("low", repo)
    message = str(caught.value)
    assert "\n" not in message
    assert "nope.yaml" in message
    assert message.startswith(f"kustomize {repo / 'overlays' / 'low'}: ")


def test_an_unknown_tier_is_refused_before_rendering(repo: Path) -> None:
    with pytest.raises(render.UnknownTier, match="unknown tier 'staging'"):
        render.render_tier("staging", repo)


def test_kube_versions_come_from_flags_then_environment_then_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(validate.KUBE_VERSIONS_ENV, raising=False)
    assert validate.kube_versions() == ("1.36.0", "1.37.0")
    monkeypatch.setenv(validate.KUBE_VERSIONS_ENV, "1.35.0, v1.37.0")
    assert validate.kube_versions() == ("1.35.0", "1.37.0")
    assert validate.kube_versions(["1.36.0", "1.36.0"]) == ("1.36.0",)
    with pytest.raises(validate.ValidationSetupError, match=r"1\.99\.0"):
        validate.kube_versions(["1.99.0"])


def test_the_gate_is_clean_on_the_tree_and_names_the_rule_when_broken(repo: Path) -> None:
    assert check.gate(repo) == []
    tier = repo / "overlays" / "medium" / "tier.yaml"
    tier.write_text(tier.read_text().replace("maxReplicas: 25", "maxReplicas: 99"))
    lines = check.gate(repo)
    assert lines, "a range off the tier table must fail the gate"
    # The tier's own violations, and the sizes table of the docs, which follows the overlays.
    # The regions running medium build on its overlay, so they fail with it.
    rest = [line for line in lines if line.split(" ")[0] not in
            ("medium", "eu-west/medium", "us-east/medium")]  # fmt: skip
    assert [line.split(":")[0] for line in rest] == ["docs File/base/README.md"], rest
    assert any(line.endswith("[hpa_range]") for line in lines)


def test_summary_totals_follow_the_replica_range(repo: Path) -> None:
    (report,) = [r for r in check.check(["low"], None, repo) if r.target == "low"]
    api = next(w for w in report.workloads if w.name == "sutra-api")
    assert (api.min_replicas, api.max_replicas, api.autoscaled) == (3, 10, True)
    control = next(w for w in report.workloads if w.name == "sutra-control")
    assert (control.min_replicas, control.max_replicas, control.autoscaled) == (1, 1, False)
    assert control.requests == (Decimal("0.250"), Decimal(256 * 2**20))
    expected_min_cpu = sum(w.requests[0] * w.min_replicas for w in report.workloads)
    lines = check.summary(report)
    assert f"requests at minimum {format_cpu(expected_min_cpu)}" in "\n".join(lines)


@pytest.mark.parametrize(
    ("text", "value"),
    [("250m", Decimal("0.25")), ("2", Decimal(2)), ("1Gi", Decimal(2**30)),
     ("512Mi", Decimal(2**29)), ("1G", Decimal(10**9)), ("1.5", Decimal("1.5"))],
)  # fmt: skip
def test_quantities(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


def test_quantity_formatting_and_rejection() -> None:
    assert format_cpu(Decimal("3")) == "3 CPU"
    assert format_cpu(Decimal("2.6")) == "2.60 CPU"
    assert format_memory(Decimal(3 * 2**29)) == "1.5 GiB"
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        parse_quantity("lots")
