"""Suite-wide fixtures; each area (manifests, storage, api, ...) has its own conftest.

Every tier is rendered once per run (`tier_objects`), for all the areas that read manifests.

The browser fixtures drive Debian's headless Chromium through Playwright: the system binary is
used as it is (`executable_path`), never a browser downloaded by a test tool.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]

CHROMIUM = os.environ.get("SUTRA_CHROMIUM", "/usr/bin/chromium")
# The machine's network is closed: without these flags Chromium keeps dialling Google's hosts.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per test module; each test gets its own context.

    Not per session: Playwright's sync API keeps an asyncio loop running in this thread while
    it is open, and `asyncio.run()` in any later test would then fail.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class BrowserPage:
    """A Playwright page that records console errors and saves screenshots beside the test."""

    page: Any
    folder: Path
    console_errors: list[str] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)

    def screenshot(self, name: str) -> Path:
        path = self.folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.screenshots.append(path)
        return path

    def errors_except(self, *allowed: str) -> list[str]:
        """Console errors, less those whose text contains one of `allowed` (expected failures)."""
        return [e for e in self.console_errors if not any(a in e for a in allowed)]


@pytest.fixture
def browser_page(browser: Any, tmp_path: Path) -> Iterator[BrowserPage]:
    """A fresh browser context and page; console errors and uncaught exceptions are recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    recorded = BrowserPage(page=page, folder=tmp_path)
    page.on(
        "console",
        lambda msg: msg.type == "error" and recorded.console_errors.append(msg.text),
    )
    page.on("pageerror", lambda exc: recorded.console_errors.append(f"uncaught: {exc}"))
    yield recorded
    context.close()


@pytest.fixture(scope="session")
def tier_objects() -> Iterator[dict[str, list[dict[str, Any]]]]:
    """Every tier rendered once per run with the real kustomize: tier -> its objects.

    Shared by every test area, so read-only: a test that breaks an object works on a
    `copy.deepcopy`. One that edits the shared objects in place fails the run at teardown.
    """
    from sutra.gitops.paths import TIERS
    from sutra.gitops.render import render_tier

    with ThreadPoolExecutor(max_workers=len(TIERS)) as pool:
        rendered = dict(
            zip(TIERS, pool.map(lambda t: render_tier(t, REPO_ROOT), TIERS), strict=True)
        )
    before = json.dumps(rendered, sort_keys=True)
    yield rendered
    assert json.dumps(rendered, sort_keys=True) == before, "a test edited tier_objects in place"


@pytest.fixture(scope="session")
def region_objects() -> Iterator[dict[tuple[str, str], list[dict[str, Any]]]]:
    """Every region overlay of the tier table (regions/<region>/<tier>) rendered once per run
    with the real kustomize: (region, tier) -> its objects. Read-only, like `tier_objects`."""
    from sutra.gitops import regions, tiers
    from sutra.gitops.render import render_region

    places = [(p.region, p.tier) for p in regions.placements(tiers.load(REPO_ROOT))]
    with ThreadPoolExecutor(max_workers=max(1, len(places))) as pool:
        found = pool.map(lambda place: render_region(*place, REPO_ROOT), places)
        rendered = dict(zip(places, found, strict=True))
    before = json.dumps({"/".join(k): v for k, v in rendered.items()}, sort_keys=True)
    yield rendered
    after = json.dumps({"/".join(k): v for k, v in rendered.items()}, sort_keys=True)
    assert after == before, "a test edited region_objects in place"


@pytest.fixture(scope="session")
def tier_table() -> dict[str, Any]:
    """policies/data/tiers.yaml, the table every tier is checked against."""
    return yaml.safe_load((REPO_ROOT / "policies" / "data" / "tiers.yaml").read_text())


@pytest.fixture
def gitops_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the GitOps folders for a test to break; SUTRA_REPO_ROOT points the CLI at it,
    which finds the CRD schemas vendored in the copy as it does in a checkout."""
    from sutra.gitops.git import GITOPS_PATHS

    root = tmp_path / "repo"
    for name in GITOPS_PATHS:
        shutil.copytree(REPO_ROOT / name, root / name)
    monkeypatch.setenv("SUTRA_REPO_ROOT", str(root))
    monkeypatch.delenv("SUTRA_CRD_SCHEMA_DIR", raising=False)
    return root
