"""Lint of the GitHub workflows: they parse, every action is pinned, no secret reaches a shell,
zizmor finds nothing, and the gate and the image build do what the release process says."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

CHECKOUT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((CHECKOUT / ".github" / "workflows").glob("*.yml"))
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


# zizmor, the GitHub Actions auditor, pinned in tools/requirements.txt (`scripts/bootstrap test`).
WORKFLOW_DIR = WORKFLOWS[0].parent


def zizmor(target: Path) -> list[dict[str, Any]]:
    """zizmor's findings on a workflow file or folder, offline (no GitHub API calls), with the
    default persona and the ignore comments it documents."""
    from sutra.gitops.tools import find_tool

    command = [find_tool("zizmor", CHECKOUT), "--offline", "--format", "json", str(target)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip(), f"zizmor printed no report: {done.stderr.strip()[-500:]}"
    return json.loads(done.stdout)


def describe(finding: dict[str, Any]) -> str:
    where = finding["locations"][0]
    local = where["symbolic"]["key"]["Local"]
    path = local.get("given_path") or local.get("verbatim_path")
    line = where["concrete"]["location"]["start_point"]["row"] + 1
    return f"{path}:{line}: {finding['ident']}: {finding['desc']} ({finding['url']})"


def test_zizmor_finds_nothing_in_the_workflows() -> None:
    findings = zizmor(WORKFLOW_DIR)
    assert not findings, "\n".join(describe(f) for f in findings)


def test_zizmor_rejects_the_mistakes_it_exists_for(tmp_path: Path) -> None:
    """A checkout that keeps its credentials, and a pull-request title expanded into a shell."""
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: pull_request\n"
        "permissions: {}\n"
        "jobs:\n"
        "  x:\n"
        "    runs-on: ubuntu-24.04\n"
        "    steps:\n"
        "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
    )
    assert {f["ident"] for f in zizmor(bad)} >= {"artipacked", "template-injection"}


def test_the_gate_runs_as_a_laptop_does() -> None:
    """bootstrap, make test, make check; the CRD schemas come from the checkout itself."""
    gate = load(WORKFLOW_DIR / "pr-gate.yml")["jobs"]["gate"]
    scripts = [step["run"].strip() for step in gate["steps"] if "run" in step]
    assert scripts == ["scripts/bootstrap test", "make test", "make check"]
    for path in WORKFLOWS:
        text = path.read_text()
        assert "SUTRA_CRD_SCHEMA_DIR" not in text, path.name
        for step in steps(load(path)):
            assert "repository" not in step.get("with", {}), f"{path.name} checks out another repo"


def test_the_image_workflow_pins_the_digest_it_pushed() -> None:
    jobs = load(WORKFLOW_DIR / "images.yml")["jobs"]
    (push,) = [s for s in jobs["build"]["steps"] if "build-push-action" in s.get("uses", "")]
    (record,) = [s for s in jobs["build"]["steps"] if "DIGEST" in s.get("env", {})]
    assert record["env"]["DIGEST"] == "${{ steps." + push["id"] + ".outputs.digest }}"
    pin = next(s["run"] for s in jobs["pin-low"]["steps"] if "sutra pin low" in s.get("run", ""))
    assert '"$service=$TAG@$digest"' in pin
