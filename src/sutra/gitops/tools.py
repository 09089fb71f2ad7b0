"""The pinned linters (checkov, zizmor, ...) that commands and tests run.

`scripts/bootstrap test` installs them into `.tools/venv` (pinned in tools/requirements.txt),
apart from the services' virtualenv, so their dependencies never move the services' pins. Each
is found as `SUTRA_<NAME>` if set, else `.tools/venv/bin/<name>` under the repository root, else
on PATH; a missing one is one line that says how to install it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from sutra.gitops.paths import repo_root

TOOLS_BIN = Path(".tools") / "venv" / "bin"
INSTALL_HINT = "run `scripts/bootstrap test` to install the pinned linters"


class ToolNotFound(RuntimeError):
    """A linter is not installed where the project looks for it."""


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_tool(name: str, root: Path | None = None) -> str:
    """The command that runs linter `name` (SUTRA_<NAME>, .tools/venv/bin, PATH)."""
    variable = f"SUTRA_{name.upper()}"
    if configured := os.environ.get(variable):
        if not _executable(Path(configured)):
            raise ToolNotFound(f"{variable}={configured} is not an executable file; {INSTALL_HINT}")
        return configured
    pinned = (root or repo_root()) / TOOLS_BIN / name
    if _executable(pinned):
        return str(pinned)
    if found := shutil.which(name):
        return found
    raise ToolNotFound(f"{name} not found in {TOOLS_BIN} nor on PATH: {INSTALL_HINT}")
