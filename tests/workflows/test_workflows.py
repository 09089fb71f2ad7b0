"""Lint of the GitHub workflows: they parse, every action is pinned, no secret reaches a shell."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = sorted((Path(__file__).resolve().parents[2] / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
SECRET_IN_SHELL = re.compile(r"\$\{\{\s*secrets\.")
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# Expressions that are safe to interpolate into a shell script: not controlled by a PR author.
SAFE_IN_SHELL = re.compile(r"^(matrix|needs|steps|env|github\.(sha|ref_type|workspace))\b")


def load(path: Path) -> dict[str, Any]:
    # PyYAML reads the key `on` as True (YAML 1.1); accept both spellings.
    data = yaml.safe_load(path.read_text())
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {"pr-gate.yml", "images.yml", "promote.yml"} <= names


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_parses_with_triggers_and_jobs(path: Path):
    workflow = load(path)
    assert workflow.get("on"), f"{path.name} has no trigger"
    assert workflow.get("jobs"), f"{path.name} has no jobs"
    for name, job in workflow["jobs"].items():
        assert job.get("runs-on"), f"{path.name}: job {name} has no runs-on"
        assert job.get("steps"), f"{path.name}: job {name} has no steps"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha(path: Path):
    for step in steps(load(path)):
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert PINNED.match(uses), f"{path.name}: {uses} is not pinned to a full commit SHA"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_permissions_are_declared(path: Path):
    workflow = load(path)
    assert "permissions" in workflow, f"{path.name}: set top-level permissions (least privilege)"
    assert workflow["permissions"] != "write-all"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_secret_or_untrusted_expression_is_interpolated_into_a_shell(path: Path):
    for step in steps(load(path)):
        script = step.get("run")
        if not script:
            continue
        assert not SECRET_IN_SHELL.search(script), (
            f"{path.name}: step {step.get('name', script[:30])!r} puts a secret into a shell "
            "script; pass it through env: instead"
        )
        for expression in EXPRESSION.findall(script):
            assert SAFE_IN_SHELL.match(expression), (
                f"{path.name}: ${{{{ {expression} }}}} is interpolated into a shell script; "
                "pass it through env:"
            )
        assert not re.search(r"echo[^\n]*\$\{?[A-Z_]*(TOKEN|SECRET|PASSWORD)", script), (
            f"{path.name}: a step echoes a secret-looking variable"
        )


def test_the_lint_can_fail(tmp_path: Path):
    """The checks above reject the mistakes they exist for."""
    bad = {
        "on": "push",
        "jobs": {
            "x": {
                "runs-on": "ubuntu-24.04",
                "steps": [
                    {"uses": "actions/checkout@v4"},
                    {"run": "echo ${{ secrets.TOKEN }}"},
                ],
            }
        },
    }
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(AssertionError, match="not pinned"):
        test_every_action_is_pinned_by_commit_sha(path)
    with pytest.raises(AssertionError, match="secret"):
        test_no_secret_or_untrusted_expression_is_interpolated_into_a_shell(path)
    with pytest.raises(AssertionError, match="permissions"):
        test_permissions_are_declared(path)
