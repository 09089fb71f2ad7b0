"""Every shell script that ships passes shellcheck, and `make lint` checks each of them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHELLCHECK = REPO / ".tools" / "venv" / "bin" / "shellcheck"


def shellcheck(*paths: Path) -> subprocess.CompletedProcess[str]:
    if not SHELLCHECK.exists():
        pytest.fail(f"{SHELLCHECK} not found: run scripts/bootstrap test")
    return subprocess.run(
        [str(SHELLCHECK), *map(str, paths)], capture_output=True, text=True, timeout=60
    )


def shell_scripts() -> list[str]:
    """Tracked files whose first line starts a shell."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    found = []
    for name in tracked:
        path = REPO / name
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as file:
                first = file.readline()
            if re.match(rb"#!\s*/(usr/)?bin/(env\s+)?(ba)?sh\b", first):
                found.append(name)
    return sorted(found)


def test_make_lint_checks_every_shell_script() -> None:
    match = re.search(r"(?m)^SCRIPTS\s*:=\s*(.+)$", (REPO / "Makefile").read_text())
    assert match, "the Makefile names its shell scripts in SCRIPTS"
    assert sorted(match.group(1).split()) == shell_scripts()


def test_the_scripts_are_clean() -> None:
    done = shellcheck(*(REPO / s for s in shell_scripts()))
    assert done.returncode == 0, done.stdout


def test_shellcheck_rejects_an_unquoted_expansion(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sh"
    bad.write_text("#!/usr/bin/env bash\nrm -rf $1/build\n")
    done = shellcheck(bad)
    assert done.returncode == 1 and "SC2086" in done.stdout
