"""The region overlays as rendered once per session (`region_objects` and `tier_objects` of
tests/conftest.py), with the tier table's placements beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sutra.gitops import regions

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def placements(tier_table: dict[str, Any]) -> list[regions.Placement]:
    return regions.placements(tier_table)


@pytest.fixture(scope="session")
def rendered_regions(
    placements: list[regions.Placement],
    region_objects: dict[tuple[str, str], list[dict[str, Any]]],
) -> dict[regions.Placement, list[dict[str, Any]]]:
    """Placement -> the objects of its overlay (rendered once, shared: do not edit in place)."""
    return {p: region_objects[(p.region, p.tier)] for p in placements}
