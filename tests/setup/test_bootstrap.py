"""scripts/bootstrap: what `make run` and `make test` install beyond .venv, run for real.

The unprivileged case runs the script as the system user `nobody` (setpriv) with a PATH on
which the packages' commands are missing, so it takes the branch a user without root or sudo
takes; nothing is faked inside the script.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SETPRIV = shutil.which("setpriv") or "/usr/bin/setpriv"
REPO = Path(__file__).resolve().parents[2]
BOOTSTRAP = REPO / "scripts" / "bootstrap"
STAMP = REPO / ".tools" / "venv" / ".constraints.sha256"
# What the script itself calls, and apt-get so that it gets as far as choosing how to run it.
NEEDED = ("bash", "env", "dirname", "awk", "id", "cut", "sha256sum", "apt-get")


def bootstrap(*args: str, env: dict[str, str] | None = None, user: str | None = None):
    command = [str(BOOTSTRAP), *args]
    if user is not None:
        command = [SETPRIV, f"--reuid={user}", f"--regid={user}", "--clear-groups", *command]
    return subprocess.run(
        command, env=env or dict(os.environ), capture_output=True, text=True, timeout=600
    )


def test_a_second_run_only_looks() -> None:
    first = bootstrap("test")
    assert first.returncode == 0, first.stderr
    stamp = STAMP.stat().st_mtime_ns
    again = bootstrap("test")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "" and again.stderr == ""
    assert STAMP.stat().st_mtime_ns == stamp  # the linters' venv was left as it was


@pytest.fixture
def bare_path() -> Iterator[Path]:
    """A PATH folder `nobody` can read, holding only the commands the script itself needs."""
    with tempfile.TemporaryDirectory(prefix="sutra-bootstrap-") as folder:
        bin_dir = Path(folder)
        bin_dir.chmod(0o755)
        for name in NEEDED:
            found = shutil.which(name)
            assert found, f"{name} not on PATH"
            (bin_dir / name).symlink_to(found)
        yield bin_dir


def test_without_root_or_sudo_it_stops_with_the_command_to_run(bare_path: Path) -> None:
    if not Path(SETPRIV).exists() or os.getuid() != 0:
        pytest.fail("this test runs the script as `nobody` with setpriv, as root")
    done = bootstrap("test", env={"PATH": str(bare_path)}, user="65534")
    assert done.returncode == 2
    assert done.stdout == ""
    # /usr/sbin/nginx is looked for by its path, so only the other commands count as missing.
    assert done.stderr == (
        "bootstrap: missing redis-server chromium prometheus: run 'sudo apt-get update && "
        "sudo apt-get install -y --no-install-recommends redis-server chromium prometheus'\n"
    )


def test_an_unknown_target_is_one_line_and_exit_2() -> None:
    done = bootstrap("deploy")
    assert done.returncode == 2
    assert done.stderr == "bootstrap: unknown target 'deploy' (use: run or test)\n"
    usage = bootstrap()
    assert (usage.returncode, usage.stderr) == (2, "bootstrap: usage: scripts/bootstrap run|test\n")
