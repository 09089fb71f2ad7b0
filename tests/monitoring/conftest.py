"""Monitoring tests: every tier rendered once with the real kustomize, and its alert rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sutra.gitops.paths import TIERS
from sutra.gitops.render import render_tier

REPO_ROOT = Path(__file__).resolve().parents[2]


def rules_of(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every rule of every PrometheusRule, each with the name of the object holding it."""
    return [
        {**rule, "object": obj["metadata"]["name"]}
        for obj in objects
        if obj["kind"] == "PrometheusRule"
        for group in obj["spec"]["groups"]
        for rule in group["rules"]
    ]


@pytest.fixture(scope="session")
def tiers() -> dict[str, list[dict[str, Any]]]:
    return {tier: render_tier(tier, REPO_ROOT) for tier in TIERS}


@pytest.fixture(scope="session")
def tier_table() -> dict[str, Any]:
    return yaml.safe_load((REPO_ROOT / "policies" / "data" / "tiers.yaml").read_text())


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found
