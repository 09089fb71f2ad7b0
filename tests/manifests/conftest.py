"""Every tier as rendered once per session (tests/conftest.py); tests look objects up in it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sutra.gitops.paths import TIERS
from sutra.gitops.render import render_argocd

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ("storage-server", "sutra-api", "sutra-hybrid", "sutra-control", "sutra-client")


@dataclass(frozen=True)
class Rendered:
    """One tier's objects, with lookups by kind and name."""

    tier: str
    objects: list[dict[str, Any]]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        matches = [o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name]
        assert len(matches) == 1, f"{self.tier}: expected one {kind}/{name}, found {len(matches)}"
        return matches[0]

    def find(self, kind: str, name: str) -> dict[str, Any] | None:
        return next(
            (o for o in self.objects if o["kind"] == kind and o["metadata"]["name"] == name), None
        )

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def pod_templates(self) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(owner, pod template) for every object that runs pods."""
        for obj in self.objects:
            if obj["kind"] in ("Deployment", "StatefulSet"):
                yield obj, obj["spec"]["template"]
            elif obj["kind"] == "CronJob":
                yield obj, obj["spec"]["jobTemplate"]["spec"]["template"]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def workload_names() -> tuple[str, ...]:
    return WORKLOADS


@pytest.fixture(scope="session")
def rendered_tiers(tier_objects: dict[str, list[dict[str, Any]]]) -> dict[str, Rendered]:
    """The session's one render of each tier (tests/conftest.py), with lookups."""
    return {tier: Rendered(tier, objects) for tier, objects in tier_objects.items()}


@pytest.fixture(scope="session")
def argocd_objects() -> Rendered:
    return Rendered("argocd", render_argocd(REPO_ROOT))


@pytest.fixture(params=TIERS)
def tier(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def rendered(rendered_tiers: dict[str, Rendered], tier: str) -> Rendered:
    return rendered_tiers[tier]
