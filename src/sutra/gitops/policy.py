"""Evaluate the repository's Rego policies over a whole rendered tier.

The policies live in `policies/<rule>/<rule>.rego` (package `sutra.<rule>`, a `deny` set of
`{"kind", "name", "msg"}`), with shared helpers in `policies/lib/` and the tier table in
`policies/data/tiers.yaml`. They are evaluated with regorus, in process, over one input holding
every object of a tier, so that rules can relate objects to each other (an HPA to its
Deployment, a PodDisruptionBudget or a NetworkPolicy to the pods it selects).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regorus
import yaml

from sutra.gitops.paths import policy_dir as default_policy_dir

PACKAGE_PREFIX = "sutra."
DATA_FILE = Path("data") / "tiers.yaml"
LIB_DIR = "lib"
DEFAULT_SAMPLE_TIER = "low"

_PACKAGE = re.compile(r"^package\s+([\w.]+)", re.MULTILINE)
_TEST_RULE = re.compile(r"^(test_\w+)\b", re.MULTILINE)
_SAMPLE_TIER = re.compile(r"^#\s*tier:\s*(\w+)\s*$")
_SAMPLE_REGION = re.compile(r"^#\s*region:\s*([\w-]+)\s*$")


class PolicyError(RuntimeError):
    """A policy that cannot be loaded or evaluated; the message is one line naming the file."""


@dataclass(frozen=True, order=True)
class Violation:
    tier: str
    kind: str
    name: str
    message: str
    rule: str

    def __str__(self) -> str:
        return f"{self.tier} {self.kind}/{self.name}: {self.message} [{self.rule}]"


@dataclass(frozen=True, order=True)
class RegoTestResult:
    """One `test_*` rule of a `_test.rego` file; `rule` is its package without `sutra.`."""

    rule: str
    name: str
    passed: bool
    error: str = ""

    @property
    def id(self) -> str:
        return f"{self.rule}::{self.name}"

    def __str__(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        detail = f" ({self.error})" if self.error else ""
        return f"{status} {self.id}{detail}"


def regorus_message(exc: BaseException) -> str:
    """regorus' multi-line diagnostic (with a Rust backtrace) reduced to `file:line:col: error`."""
    text = str(exc).split("Stack backtrace:")[0]
    location = re.search(r"-->\s*(\S+)", text)
    error = re.search(r"^error:\s*(.+)$", text, re.MULTILINE)
    if error:
        return f"{location.group(1)}: {error.group(1)}" if location else error.group(1)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def read_sample(path: Path) -> tuple[str, list[dict[str, Any]]]:
    """A sample manifest: its tier (first line `# tier: medium`, default low) and its objects."""
    text = path.read_text(encoding="utf-8")
    first = text.splitlines()[0] if text else ""
    match = _SAMPLE_TIER.match(first)
    tier = match.group(1) if match else DEFAULT_SAMPLE_TIER
    objects = [doc for doc in yaml.safe_load_all(text) if isinstance(doc, dict)]
    return tier, objects


def read_sample_region(path: Path) -> str | None:
    """The region a sample is rendered for (a line `# region: eu-west` among its opening
    comments), or None for a tier's own overlay."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            return None
        if match := _SAMPLE_REGION.match(line):
            return match.group(1)
    return None


class PolicySet:
    """The rules of a policy folder, parsed once and evaluated for any number of tiers."""

    def __init__(self, policy_dir: Path | None = None) -> None:
        self.policy_dir = Path(policy_dir) if policy_dir is not None else default_policy_dir()
        self._engine = regorus.Engine()
        if not self.policy_dir.is_dir():
            raise PolicyError(f"{self.policy_dir}: no such policy folder")
        self._packages: dict[Path, str] = {}
        for path in sorted(self.policy_dir.rglob("*.rego")):
            self._load(path)
        self._rules = self._find_rules()
        self.tier_table = self._load_data()

    def _display(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.policy_dir.parent))
        except ValueError:
            return str(path)

    def _load(self, path: Path) -> None:
        shown = self._display(path)
        text = path.read_text(encoding="utf-8")
        try:
            self._engine.add_policy(shown, text)
        except RuntimeError as exc:
            raise PolicyError(regorus_message(exc)) from None
        match = _PACKAGE.search(text)
        if match is None:  # regorus rejects such a file already; kept for a clear message
            raise PolicyError(f"{shown}: no package declaration")
        self._packages[path] = match.group(1)

    def _find_rules(self) -> list[str]:
        rules = []
        for folder in sorted(p for p in self.policy_dir.iterdir() if p.is_dir()):
            main = folder / f"{folder.name}.rego"
            if not main.is_file():
                continue
            package = self._packages[main]
            if package != PACKAGE_PREFIX + folder.name:
                raise PolicyError(
                    f"{self._display(main)}: declares package {package}, "
                    f"expected {PACKAGE_PREFIX}{folder.name}"
                )
            rules.append(folder.name)
        return rules

    def _load_data(self) -> dict[str, Any]:
        path = self.policy_dir / DATA_FILE
        try:
            table = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise PolicyError(f"{self._display(path)}: {first}") from None
        if not isinstance(table, dict) or not isinstance(table.get("tiers"), dict):
            raise PolicyError(f"{self._display(path)}: has no tiers: mapping")
        self._engine.add_data_json(json.dumps({"tiers": table}))
        return table

    @property
    def rules(self) -> list[str]:
        return list(self._rules)

    @property
    def tiers(self) -> list[str]:
        return list(self.tier_table["tiers"])

    def evaluate(
        self, objects: list[dict], tier: str, region: str | None = None
    ) -> list[Violation]:
        """Every violation of every rule for one tier's objects, sorted. With REGION, the
        objects are that region's overlay of the tier (input.region; violations name
        `region/tier`)."""
        if tier not in self.tier_table["tiers"]:
            raise PolicyError(f"unknown tier {tier!r}: the tier table has {', '.join(self.tiers)}")
        engine = self._engine.clone()
        objs = [o for o in objects if isinstance(o, dict)]
        given: dict[str, Any] = {"tier": tier, "objects": objs}
        if region is not None:
            given["region"] = region
        engine.set_input_json(json.dumps(given, default=str))
        target = tier if region is None else f"{region}/{tier}"
        found: set[Violation] = set()
        for rule in self._rules:
            try:
                raw = engine.eval_rule_as_json(f"data.{PACKAGE_PREFIX}{rule}.deny")
            except RuntimeError as exc:
                raise PolicyError(f"{rule}: {regorus_message(exc)}") from None
            found.update(self._violations(json.loads(raw), target, rule))
        return sorted(found)

    @staticmethod
    def _violations(result: Any, tier: str, rule: str) -> list[Violation]:
        if not isinstance(result, list):  # undefined: the rule has no deny set
            return []
        out = []
        for item in result:
            if isinstance(item, dict):
                kind, name = str(item.get("kind", "")), str(item.get("name", ""))
                message = str(item.get("msg", item))
            else:
                kind, name, message = "", "", str(item)
            out.append(Violation(tier, kind, name, message, rule))
        return out

    def reference_tier(self, tier: str) -> list[dict[str, Any]]:
        """The compliant tier `policies/lib/fixtures.rego` builds from the table for unit tests."""
        query = f"objects := data.sutra.lib.fixtures.tier_objects({json.dumps(tier)})"
        try:
            results = json.loads(self._engine.clone().eval_query_as_json(query))["result"]
            objects = results[0]["bindings"]["objects"]
        except (RuntimeError, LookupError) as exc:
            raise PolicyError(f"policies/lib/fixtures.rego: {regorus_message(exc)}") from None
        if not isinstance(objects, list):
            raise PolicyError(f"policies/lib/fixtures.rego builds no objects for tier {tier!r}")
        return objects

    def test_cases(self) -> list[tuple[str, str]]:
        """(package, test rule) of every `test_*` rule in a `_test.rego` file, in file order."""
        cases = []
        for path, package in self._packages.items():
            if path.name.endswith("_test.rego"):
                text = path.read_text(encoding="utf-8")
                cases.extend((package, name) for name in _TEST_RULE.findall(text))
        return cases

    def run_unit_test(self, package: str, name: str) -> RegoTestResult:
        rule = package.removeprefix(PACKAGE_PREFIX)
        try:
            raw = self._engine.clone().eval_rule_as_json(f"data.{package}.{name}")
        except RuntimeError as exc:
            return RegoTestResult(rule, name, False, regorus_message(exc))
        passed = json.loads(raw) is True
        return RegoTestResult(rule, name, passed, "" if passed else "undefined or false")

    def run_unit_tests(self) -> list[RegoTestResult]:
        """Run every `test_*` rule; a test passes when it evaluates to true."""
        return [self.run_unit_test(package, name) for package, name in self.test_cases()]
