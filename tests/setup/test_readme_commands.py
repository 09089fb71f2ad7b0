"""The README's set-up is two commands, and they work from a fresh clone.

`scripts/readme-commands` takes the commands from the README's own code block; CI runs them
as written in its clean clone (`.ci/run`: `test`, then `run` until the demo is served). Here a
clone of the committed tree in an empty folder proves each command's plan needs nothing
outside that folder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README_COMMANDS = REPO / "scripts" / "readme-commands"


def readme_commands(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "scripts/readme-commands", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_setup_section_is_exactly_the_two_make_commands() -> None:
    listed = readme_commands("list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == ["make run", "make test"]


def test_ci_runs_the_readme_commands_and_nothing_else_installs() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/readme-commands test" in ci and "scripts/readme-commands run" in ci
    assert "apt-get" not in ci  # scripts/bootstrap, through `make test`, is the one installer


def test_a_readme_without_the_block_is_one_line_and_exit_2(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "readme-commands").write_text(README_COMMANDS.read_text())
    (tmp_path / "README.md").write_text("# A project\n\n## Two commands\n\nnone here\n")
    done = readme_commands("test", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "readme-commands: README.md's \"Two commands\" block has no 'make test' line\n"
    )


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed tree, cloned into an empty folder with nothing beside it."""
    clone = tmp_path_factory.mktemp("empty") / "sutra-deploy"
    subprocess.run(
        ["git", "clone", "--quiet", "--no-hardlinks", str(REPO), str(clone)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert sorted(p.name for p in clone.parent.iterdir()) == ["sutra-deploy"]
    return clone


@pytest.mark.parametrize("command", ["make run", "make test"])
def test_each_readme_command_plans_only_inside_the_clone(fresh_clone: Path, command: str) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SUTRA_", "MAKE"))}
    plan = subprocess.run(
        [*command.split(), "--dry-run"],
        cwd=fresh_clone,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plan.returncode == 0, plan.stderr
    steps = plan.stdout.splitlines()
    assert steps[0] == "test -x .venv/bin/python || python3 -m venv .venv"  # its own venv
    assert ("scripts/bootstrap test" in steps) == (command == "make test")
    assert not [s for s in steps if "../" in s], steps
