"""A throw-away git repository holding a copy of this checkout's GitOps tree.

Release commands commit and create worktrees, so they run on a copy, never on the checkout.
"""

from __future__ import annotations

import hashlib
import os
import re
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

    def set_pin(self, tier: str, image: str, tag: str, digest: str | None) -> None:
        """Edit one pin's tag and digest lines by hand, as a release engineer would (no
        digest: drop its line), and commit it."""
        path = self.path / "overlays" / tier / "kustomization.yaml"
        pin = re.compile(
            rf'(- name: ghcr\.io/sutra-ai/{re.escape(image)}\n\s+newTag: )"[^"]*"\n'
            r'(\s+digest: )"[^"]*"\n'
        )
        new = rf'\g<1>"{tag}"\n' + (rf'\g<2>"{digest}"\n' if digest else "")
        text, count = pin.subn(new, path.read_text())
        assert count == 1, f"no tag and digest of {image} in {path}"
        path.write_text(text)
        self.git("commit", "--quiet", "-am", f"{tier}: {image} {tag}")


def digest_of(build: str) -> str:
    """A digest as a registry returns it, one per (made-up) build."""
    return "sha256:" + hashlib.sha256(build.encode()).hexdigest()


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
