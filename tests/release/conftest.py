"""A throw-away git repository holding a copy of this checkout's GitOps tree.

Release commands commit and create worktrees, so they run on a copy, never on the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sutra.gitops.git import GITOPS_PATHS
from sutra.gitops.paths import crd_schema_dir

CHECKOUT = Path(__file__).resolve().parents[2]
SUTRA = str(Path(sys.executable).parent / "sutra")


class GitopsRepo:
    """A git repository with the GitOps tree, and the `sutra` command run inside it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.env = {k: v for k, v in os.environ.items() if k != "SUTRA_REPO_ROOT"}
        self.env.setdefault("SUTRA_CRD_SCHEMA_DIR", str(crd_schema_dir(CHECKOUT)))

    def git(self, *args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(self.path), *args], check=True, capture_output=True, text=True
        ).stdout

    def sutra(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SUTRA, *args], cwd=self.path, env=self.env, capture_output=True, text=True, timeout=300
        )

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").strip()

    def edit(self, relative: str, old: str, new: str) -> None:
        target = self.path / relative
        text = target.read_text()
        assert old in text, f"{old!r} not in {relative}"
        target.write_text(text.replace(old, new, 1))

    def set_tag(self, tier: str, image: str, old: str, new: str) -> None:
        """Edit one pin by hand, as a release engineer would, and commit it."""
        self.edit(
            f"overlays/{tier}/kustomization.yaml",
            f'name: ghcr.io/sutra-ai/{image}\n    newTag: "{old}"',
            f'name: ghcr.io/sutra-ai/{image}\n    newTag: "{new}"',
        )
        self.git("commit", "--quiet", "-am", f"{tier}: {image} {new}")


@pytest.fixture
def repo(tmp_path: Path) -> GitopsRepo:
    path = tmp_path / "repo"
    path.mkdir()
    for name in GITOPS_PATHS:
        shutil.copytree(CHECKOUT / name, path / name)
    (path / "README.md").write_text("# a copy of Sutra Deploy for tests\n")
    gitops = GitopsRepo(path)
    gitops.git("init", "--quiet", "--initial-branch=main")
    gitops.git("config", "user.name", "Release Test")
    gitops.git("config", "user.email", "release-test@example.invalid")
    gitops.git("add", "-A")
    gitops.git("commit", "--quiet", "-m", "initial")
    return gitops
