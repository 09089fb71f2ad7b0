"""The few git operations the release commands need, each failing with one clear line."""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

# Every folder the gate reads: what a promotion must find committed, what a test copies.
GITOPS_PATHS = (
    "base",
    "components",
    "overlays",
    "regions",
    "argocd",
    "policies",
    "gatekeeper",
    "schemas",
)


class GitError(RuntimeError):
    """A git command failed; the message is git's own, on one line."""


def git(root: Path, *args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise GitError(f"git: {exc}") from exc
    if done.returncode != 0:
        message = " ".join(done.stderr.split()) or f"exit status {done.returncode}"
        raise GitError(f"git {args[0]}: {message}")
    return done.stdout


def uncommitted(root: Path, paths: Sequence[str] = GITOPS_PATHS) -> list[str]:
    """Changed, staged or untracked (not ignored) files under `paths`: what a commit would miss."""
    out = git(root, "status", "--porcelain", "--untracked-files=all", "--", *paths)
    return [line[3:] for line in out.splitlines() if line.strip()]


def resolve(root: Path, ref: str) -> str:
    """The commit `ref` names."""
    try:
        return git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except GitError as exc:
        raise GitError(f"unknown revision {ref!r}") from exc


def default_base(root: Path, branch: str = "main") -> str:
    """The merge base with `branch` (or `origin/branch`); HEAD when neither exists."""
    for candidate in (branch, f"origin/{branch}"):
        try:
            return git(root, "merge-base", "HEAD", candidate).strip()
        except GitError:
            continue
    return resolve(root, "HEAD")


@contextlib.contextmanager
def worktree(root: Path, ref: str) -> Iterator[Path]:
    """A temporary detached checkout of `ref`; the user's checkout is never touched."""
    commit = resolve(root, ref)
    with tempfile.TemporaryDirectory(prefix="sutra-worktree-") as scratch:
        path = Path(scratch) / "tree"
        git(root, "worktree", "add", "--detach", "--quiet", str(path), commit)
        try:
            yield path
        finally:
            with contextlib.suppress(GitError):
                git(root, "worktree", "remove", "--force", str(path))
            with contextlib.suppress(GitError):
                git(root, "worktree", "prune")
