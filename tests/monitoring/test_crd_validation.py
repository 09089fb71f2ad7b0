"""ServiceMonitors and PrometheusRules are validated strictly against their CRD schemas.

The schemas are the catalog's (SUTRA_CRD_SCHEMA_DIR); the catalog leaves the top level and
`metadata` open, which the validator closes, so each kind of mistake below fails the gate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sutra.gitops import check, shards
from sutra.gitops.paths import TIERS, crd_schema_dir
from sutra.gitops.validate import DEFAULT_KUBE_VERSIONS, validate_objects

from .conftest import REPO_ROOT, find

MONITORING_KINDS = ("ServiceMonitor", "PrometheusRule")


def _errors(obj: dict[str, Any]) -> list[str]:
    found = validate_objects([obj], "low", DEFAULT_KUBE_VERSIONS, crd_schema_dir(REPO_ROOT))
    assert all(v.rule == "schema" and v.kind == obj["kind"] for v in found)
    return [v.message for v in found]


@pytest.mark.parametrize("tier", TIERS)
def test_the_rendered_monitoring_objects_are_valid(tiers, tier_table, tier: str) -> None:
    objects = [o for o in tiers[tier] if o["kind"] in MONITORING_KINDS]
    # 4 ServiceMonitors (and the read followers' where the tier runs them; each storage shard's
    # writer and followers as shard 0's), the alerts, the tier's own alerts
    followers = tier_table["storage"]["replication"]["followers"]
    stores = 1 + (followers in tier_table["tiers"][tier]["workloads"])
    assert len(objects) == 5 + stores + (shards.count(tier_table, tier) - 1) * stores
    assert [e for o in objects for e in _errors(o)] == []


def _misplaced_interval(o: dict[str, Any]) -> None:
    o["spec"]["endpoints"][0]["intervall"] = "30s"


def _endpoints_beside_spec(o: dict[str, Any]) -> None:
    o["endpoints"] = o["spec"].pop("endpoints")


def _label_typo(o: dict[str, Any]) -> None:
    o["metadata"]["label"] = o["metadata"].pop("labels")


def _port_as_number(o: dict[str, Any]) -> None:
    o["spec"]["endpoints"][0]["port"] = 9091


@pytest.mark.parametrize(
    ("breaks", "where"),
    [
        (_misplaced_interval, "spec.endpoints[0]"),
        (_endpoints_beside_spec, "(object)"),
        (_label_typo, "metadata"),
        (_port_as_number, "spec.endpoints[0].port"),
    ],
)
def test_a_broken_service_monitor_fails(
    tiers, breaks: Callable[[dict[str, Any]], None], where: str
) -> None:
    monitor = copy.deepcopy(find(tiers["low"], "ServiceMonitor", "storage-server"))
    breaks(monitor)
    errors = _errors(monitor)
    assert errors, breaks.__name__
    assert any(e.startswith(where) for e in errors), errors


def _expression_not_expr(rule: dict[str, Any]) -> None:
    rule["expression"] = rule.pop("expr")


def _for_in_words(rule: dict[str, Any]) -> None:
    rule["for"] = "5 minutes"


def _numeric_label(rule: dict[str, Any]) -> None:
    rule["labels"]["priority"] = 1


@pytest.mark.parametrize(
    ("breaks", "where"),
    [
        (_expression_not_expr, "spec.groups[0].rules[0]"),
        (_for_in_words, "spec.groups[0].rules[0].for"),
        (_numeric_label, "spec.groups[0].rules[0].labels.priority"),
    ],
)
def test_a_broken_prometheus_rule_fails(
    tiers, breaks: Callable[[dict[str, Any]], None], where: str
) -> None:
    rule = copy.deepcopy(find(tiers["low"], "PrometheusRule", "sutra-alerts"))
    breaks(rule["spec"]["groups"][0]["rules"][0])
    errors = _errors(rule)
    assert errors, breaks.__name__
    assert any(e.startswith(where) for e in errors), errors


def test_a_rule_group_without_a_name_fails(tiers) -> None:
    rule = copy.deepcopy(find(tiers["low"], "PrometheusRule", "sutra-alerts"))
    del rule["spec"]["groups"][0]["name"]
    assert any("'name' is a required property" in e for e in _errors(rule))


def test_the_gate_rejects_a_broken_service_monitor(gitops_checkout: Path) -> None:
    """End to end: `sutra check` on a copy of the repository with one misspelt key."""
    root = gitops_checkout
    monitors = root / "base" / "monitoring" / "servicemonitors.yaml"
    text = monitors.read_text()
    assert text.count("      interval: 15s\n") == 1
    monitors.write_text(text.replace("      interval: 15s\n", "      intervall: 15s\n"))
    (report,) = [r for r in check.check(["low"], root=root) if r.target == "low"]
    assert [(v.kind, v.name, v.rule) for v in report.violations] == [
        ("ServiceMonitor", "sutra-api", "schema")
    ]
