"""The Grafana dashboards of base/monitoring/dashboards/: their panels and their queries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import REPO_ROOT

DASHBOARD_DIR = REPO_ROOT / "base" / "monitoring" / "dashboards"


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARD_DIR.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, those inside collapsed rows included, rows themselves included."""
    found = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def queries(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(panel title and refId, PromQL) of every query of every panel."""
    return [
        (f"{panel['title']} {target['refId']}", target["expr"])
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
    ]
