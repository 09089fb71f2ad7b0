"""Where the repository's GitOps inputs live.

The gate works on a checkout, not on installed package data: it looks for the repository root
(the folder holding `overlays/` and `policies/`) from the working directory upwards, so
`sutra check` run anywhere inside a clone checks that clone. `SUTRA_REPO_ROOT` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

CRD_SCHEMA_ENV = "SUTRA_CRD_SCHEMA_DIR"
REPO_ROOT_ENV = "SUTRA_REPO_ROOT"


def __getattr__(name: str) -> tuple[str, ...]:
    """`TIERS`: the tier names of the enclosing checkout's table, read when asked for (never
    listed here: policies/data/tiers.yaml is the one place that lists them)."""
    if name == "TIERS":
        from sutra.gitops import tiers

        return tiers.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class RepositoryNotFound(RuntimeError):
    """Raised when no folder with `overlays/` and `policies/` encloses the working directory."""


def _is_repo_root(path: Path) -> bool:
    return (path / "overlays").is_dir() and (path / "policies").is_dir()


def repo_root(start: Path | None = None) -> Path:
    """The enclosing Sutra Deploy checkout."""
    if env := os.environ.get(REPO_ROOT_ENV):
        root = Path(env).resolve()
        if not _is_repo_root(root):
            raise RepositoryNotFound(f"{REPO_ROOT_ENV}={env} has no overlays/ and policies/")
        return root
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if _is_repo_root(candidate):
            return candidate
    raise RepositoryNotFound(
        f"no Sutra Deploy checkout (a folder with overlays/ and policies/) encloses {here}"
    )


def policy_dir(root: Path | None = None) -> Path:
    return (root or repo_root()) / "policies"


def overlay_dir(tier: str, root: Path | None = None) -> Path:
    return (root or repo_root()) / "overlays" / tier


def crd_schema_dir(root: Path | None = None) -> Path:
    """CRD JSON schemas (kubeconform layout `<group>/<kind>_<version>.json`).

    The ones vendored in the checkout (`schemas/crds/`, see its README), unless
    `SUTRA_CRD_SCHEMA_DIR` names another folder of the same layout.
    """
    if env := os.environ.get(CRD_SCHEMA_ENV):
        return Path(env)
    return (root or repo_root()) / "schemas" / "crds"
