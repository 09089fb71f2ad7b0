"""Static checks of the storage-server image (no Docker daemon needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "images" / "storage-server" / "Dockerfile"
DEV_ONLY = (
    "grpcio-tools",
    "grpcio_tools",
    "pytest",
    "hypothesis",
    "ruff",
    "[dev]",
    "gcc",
    "build-essential",
    "kubectl",
    "kubernetes-validate",
    "gordon-to-regorus",
)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")),
    )
    result = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def final_stage(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (keyword, _) in enumerate(items) if keyword == "FROM"]
    assert len(starts) >= 2, "the image must be multi-stage"
    return items[starts[-1] :]


def test_final_stage_is_slim_python_running_as_10001() -> None:
    stage = final_stage(instructions(DOCKERFILE.read_text()))
    base = stage[0][1].split()[0]
    assert base.startswith("python:3.11-slim"), base
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users and users[-1] in ("10001", "10001:10001"), users
    runs = " ".join(args for keyword, args in stage if keyword == "RUN")
    assert "--uid 10001" in runs and "--gid 10001" in runs


def test_entrypoint_is_exec_form_and_ports_are_exposed() -> None:
    stage = final_stage(instructions(DOCKERFILE.read_text()))
    (entrypoint,) = [args for keyword, args in stage if keyword == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["python", "-m", "sutra.storage"]
    assert not [args for keyword, args in stage if keyword == "CMD"]
    exposed = {port for keyword, args in stage if keyword == "EXPOSE" for port in args.split()}
    assert exposed == {"50051", "9091"}


def test_final_stage_installs_no_dev_or_gitops_tools() -> None:
    stage = final_stage(instructions(DOCKERFILE.read_text()))
    body = "\n".join(f"{keyword} {args}" for keyword, args in stage)
    for word in DEV_ONLY:
        assert word not in body, word
    requirements = (REPO / "images" / "storage-server" / "requirements.txt").read_text()
    names = {
        line.strip()
        for line in requirements.splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert not names & set(DEV_ONLY)
    # Every runtime requirement is pinned by the repository's constraints.
    constraints = (REPO / "constraints.txt").read_text().lower().replace("_", "-")
    for name in names:
        assert re.search(rf"^{re.escape(name.lower())}==", constraints, re.M), name
