"""Monitoring tests: every tier as rendered once per session, and its alert rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
def tiers(tier_objects: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The session's one render of each tier (tests/conftest.py)."""
    return tier_objects


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found
