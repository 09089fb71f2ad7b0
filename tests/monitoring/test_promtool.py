"""Every tier's alert rules, as rendered, pass `promtool check rules` and their unit tests.

The unit tests are YAML files in promtool/ (input series, then the alerts expected at given
times, with every label and annotation): `<group>.yaml` runs against every tier, and
`<group>.<tier>.yaml` against that tier alone (the tier table's numbers are written out in it).
Each alert of each tier needs a case where it fires and one where it stays silent; an alert
without them fails `test_every_alert_of_every_tier_has_a_unit_test`.
"""

from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from sutra.gitops.paths import TIERS

from .conftest import rules_of
from .prometheus import promtool, write_rule_files

UNIT_TESTS = Path(__file__).parent / "promtool"


def unit_files(tier: str) -> list[Path]:
    """The unit-test files that apply to `tier`."""
    files = sorted(UNIT_TESTS.glob("*.yaml"))
    return [f for f in files if len(f.name.split(".")) == 2 or f.name.split(".")[-2] == tier]


def run_unit_tests(
    objects: list[dict[str, Any]], tier: str, folder: Path, only: str | None = None
) -> str:
    """`promtool test rules` of the tier's files (or the file `only`) against `objects`' rules:
    its output if any test failed, else ""."""
    write_rule_files(objects, folder / "rules")
    files = [f for f in unit_files(tier) if only in (None, f.name)]
    assert files, only
    copies = [shutil.copy(f, folder / f.name) for f in files]
    done = promtool("test", "rules", *copies, cwd=folder)
    return "" if done.returncode == 0 else done.stdout + done.stderr


@pytest.mark.parametrize("tier", TIERS)
def test_promtool_accepts_every_rule_file(tiers, tier: str, tmp_path: Path) -> None:
    paths = write_rule_files(tiers[tier], tmp_path)
    assert [p.name for p in paths] == [
        "sutra-ai-sutra-alerts.yaml",
        "sutra-ai-sutra-tier-alerts.yaml",
    ]
    done = promtool("check", "rules", "--lint=all", "--lint-fatal", *paths)
    assert done.returncode == 0, done.stdout + done.stderr
    found = sum(int(n) for n in re.findall(r"SUCCESS: (\d+) rules found", done.stdout))
    assert found == len(rules_of(tiers[tier]))


@pytest.mark.parametrize("tier", TIERS)
def test_every_unit_test_passes(tiers, tier: str, tmp_path: Path) -> None:
    assert run_unit_tests(tiers[tier], tier, tmp_path) == ""


def _cases(tier: str) -> list[dict[str, Any]]:
    """Every alert_rule_test of the tier's unit-test files."""
    return [
        case
        for path in unit_files(tier)
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test") or []
    ]


def untested(rules: list[dict[str, Any]], cases: list[dict[str, Any]]) -> list[str]:
    """Alert rules without a firing case (its labels expected, with summary and runbook link)
    or without a silent case (`exp_alerts: []`), one line each."""
    missing = []
    for rule in rules:
        name, labels = rule["alert"], rule.get("labels") or {}
        mine = [c for c in cases if c["alertname"] == name]
        fires = [
            alert
            for case in mine
            for alert in case.get("exp_alerts") or []
            if labels.items() <= (alert.get("exp_labels") or {}).items()
            and {"summary", "runbook_url"} <= set(alert.get("exp_annotations") or {})
        ]
        if not fires:
            missing.append(f"{name} {labels}: no case where it fires")
        if not [c for c in mine if not c.get("exp_alerts")]:
            missing.append(f"{name}: no case where it stays silent")
    return missing


@pytest.mark.parametrize("tier", TIERS)
def test_every_alert_of_every_tier_has_a_unit_test(tiers, tier: str) -> None:
    rules = [r for r in rules_of(tiers[tier]) if "alert" in r]
    assert len(rules) >= 15
    assert untested(rules, _cases(tier)) == []


def test_an_alert_without_a_unit_test_is_caught(tiers) -> None:
    rules = [r for r in rules_of(tiers["medium"]) if "alert" in r]
    new = {"alert": "SutraSomethingNew", "labels": {"severity": "warning"}}
    other_workload = {**rules[0], "labels": {**rules[0]["labels"], "workload": "sutra-new"}}
    assert untested([*rules, new, other_workload], _cases("medium")) == [
        "SutraSomethingNew {'severity': 'warning'}: no case where it fires",
        "SutraSomethingNew: no case where it stays silent",
        f"{other_workload['alert']} {other_workload['labels']}: no case where it fires",
    ]


def _edit_rule(objects: list[dict[str, Any]], alert: str, **changes: Any) -> None:
    (rule,) = [
        r
        for o in objects
        if o["kind"] == "PrometheusRule"
        for g in o["spec"]["groups"]
        for r in g["rules"]
        if r.get("alert") == alert
    ]
    for key, value in changes.items():
        rule[key] = value if not isinstance(value, dict) else {**rule[key], **value}


@pytest.mark.parametrize(
    ("alert", "changes", "reported"),
    [
        ("SutraApiLatencyHigh", {"labels": {"severity": "warning"}}, 'severity="warning"'),
        ("SutraStorageQueueNearFull", {"for": "10m"}, "SutraStorageQueueNearFull, time: 3m"),
        (
            "SutraStorageServerDown",
            {"expr": 'up{namespace="sutra-ai", job="storage"} == 0'},
            "SutraStorageServerDown, time: 5m",
        ),
    ],
)
def test_a_wrong_rule_fails_its_unit_test(
    tiers, tmp_path: Path, alert: str, changes: dict[str, Any], reported: str
) -> None:
    """A wrong severity, a longer `for`, a selector on a job that does not exist."""
    objects = copy.deepcopy(tiers["low"])
    _edit_rule(objects, alert, **changes)
    group = "sutra-api" if alert.startswith("SutraApi") else "storage-server"
    assert reported in run_unit_tests(objects, "low", tmp_path, only=f"{group}.yaml")
