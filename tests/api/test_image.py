"""Static checks of the sutra-api image (no Docker daemon needed)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
IMAGE = REPO / "images" / "sutra-api"
DOCKERFILE = IMAGE / "Dockerfile"
DEV_ONLY = (
    "grpcio-tools",
    "grpcio_tools",
    "pytest",
    "hypothesis",
    "schemathesis",
    "ruff",
    "[dev]",
    "gcc",
    "build-essential",
    "kubectl",
    "kubernetes-validate",
    "gordon-to-regorus",
    "lmdb",
    "usearch",
    "scikit-learn",
    "torch",
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


def requirements() -> set[str]:
    text = (IMAGE / "requirements.txt").read_text()
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_final_stage_is_slim_python_running_as_10001() -> None:
    stage = final_stage(instructions(DOCKERFILE.read_text()))
    base = stage[0][1].split()[0]
    assert base.startswith("python:3.11-slim"), base
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users and users[-1] in ("10001", "10001:10001"), users
    runs = " ".join(args for keyword, args in stage if keyword == "RUN")
    assert "--uid 10001" in runs and "--gid 10001" in runs


def test_entrypoint_is_exec_form_and_the_port_is_exposed() -> None:
    stage = final_stage(instructions(DOCKERFILE.read_text()))
    (entrypoint,) = [args for keyword, args in stage if keyword == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["python", "-m", "sutra.api"]
    assert not [args for keyword, args in stage if keyword == "CMD"]
    exposed = {port for keyword, args in stage if keyword == "EXPOSE" for port in args.split()}
    assert exposed == {"8000"}
    env = " ".join(args for keyword, args in stage if keyword == "ENV")
    assert "SUTRA_API_HOST=0.0.0.0" in env and "SUTRA_API_PORT=8000" in env


def test_final_stage_installs_no_dev_ml_or_gitops_tools() -> None:
    stage = final_stage(instructions(DOCKERFILE.read_text()))
    body = "\n".join(f"{keyword} {args}" for keyword, args in stage)
    for word in DEV_ONLY:
        assert word not in body, word
    assert not {normalise(n) for n in requirements()} & {normalise(w) for w in DEV_ONLY}


def test_runtime_requirements_are_pinned_by_the_constraints() -> None:
    constraints = {
        normalise(line.split("==", 1)[0])
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    missing = sorted(n for n in requirements() if normalise(n) not in constraints)
    assert not missing, f"not pinned in constraints.txt: {missing}"


def _closure(names: set[str]) -> set[str]:
    """The distributions `names` install, with their (non-extra) dependencies."""
    seen: set[str] = set()
    todo = [normalise(n) for n in names]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(normalise(requirement.name))
    return seen


_IMAGE_PYTHON = """
import importlib.abc, json, sys
from importlib import metadata

allowed = set(json.loads(sys.argv[1]))
owners = metadata.packages_distributions()


class OnlyTheImage(importlib.abc.MetaPathFinder):
    \"\"\"Refuse modules of distributions that the image does not install.\"\"\"

    def find_spec(self, name, path=None, target=None):
        dists = {d.lower().replace("_", "-") for d in owners.get(name.split(".")[0], [])}
        if dists and not dists & allowed:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the image)", name=name)
        return None


sys.meta_path.insert(0, OnlyTheImage())
import sutra.api.__main__, sutra.api.cache
from sutra.api.app import create_app
from sutra.api.settings import ApiSettings
import redis.asyncio, uvicorn.loops.uvloop, uvicorn.protocols.http.httptools_impl

create_app(ApiSettings(redis_url="redis://127.0.0.1:1")).openapi()
print("ok")
"""


def test_the_service_starts_with_only_the_image_requirements() -> None:
    """Import and build the service while every distribution outside the image is hidden."""
    allowed = sorted(_closure(requirements()) | {"sutra"})
    result = subprocess.run(
        [sys.executable, "-c", _IMAGE_PYTHON, json.dumps(allowed)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]
