"""Mistakes that both the gate's rules (`sutra check`) and checkov (`sutra scan`) must stop,
made on a copy of the GitOps tree (the `gitops_checkout` fixture of tests/conftest.py)."""

from __future__ import annotations

import re
from pathlib import Path

TOKEN_FILE_ENV = (
    "            - name: SUTRA_CONTROL_TOKEN_FILE\n"
    "              value: /run/secrets/sutra-control/token\n"
)
TOKEN_SECRET_ENV = (
    "            - name: SUTRA_CONTROL_TOKEN\n"
    "              valueFrom:\n"
    "                secretKeyRef:\n"
    "                  name: sutra-control-token\n"
    "                  key: token\n"
)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not exactly once in {path}"
    path.write_text(text.replace(old, new))


def put_the_token_back_into_env(root: Path) -> None:
    """sutra-control reads its admin token from an env value again (every tier)."""
    edit(root / "base/sutra-control/deployment.yaml", TOKEN_FILE_ENV, TOKEN_SECRET_ENV)


def drop_digest(root: Path, tier: str, service: str) -> None:
    """The overlay pins `service` by its tag alone."""
    path = root / "overlays" / tier / "kustomization.yaml"
    item = re.compile(
        rf"(- name: ghcr\.io/sutra-ai/{re.escape(service)}\n(?:[ \t]+(?!digest)\w+: .*\n)*)"
        r"[ \t]+digest: .*\n"
    )
    text, count = item.subn(r"\1", path.read_text())
    assert count == 1, f"no digest of {service} in {path}"
    path.write_text(text)
