"""Every alert of every tier links its own section of docs/runbooks.md, and every section is an
alert's: the page an on-call engineer opens from a notification exists and says what to do."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from sutra.gitops.paths import TIERS
from sutra.gitops.tier_alerts import RUNBOOKS

from .conftest import REPO_ROOT, rules_of
from .dashboards import dashboard_files, load, panels

RUNBOOK_PAGE = REPO_ROOT / "docs" / "runbooks.md"


def anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as `-`."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def sections(text: str) -> dict[str, str]:
    """`## ` heading anchor -> the section's text."""
    parts = re.split(r"^## (.+)$", text, flags=re.MULTILINE)
    return {anchor(h): body for h, body in zip(parts[1::2], parts[2::2], strict=True)}


def broken_links(rules: list[dict[str, Any]], text: str) -> list[str]:
    """One line per alert whose runbook_url is not its own section of the page."""
    found = sections(text)
    problems = []
    for rule in rules:
        url = (rule.get("annotations") or {}).get("runbook_url", "")
        base, _, fragment = url.partition("#")
        if base != RUNBOOKS:
            problems.append(f"{rule['alert']}: runbook_url {url!r} is not {RUNBOOKS}#...")
        elif fragment not in found:
            problems.append(f"{rule['alert']}: docs/runbooks.md has no section #{fragment}")
        elif fragment != anchor(rule["alert"]):
            problems.append(f"{rule['alert']}: links #{fragment}, another alert's section")
    return problems


def _alerts(tiers: dict[str, list[dict[str, Any]]], tier: str) -> list[dict[str, Any]]:
    return [r for r in rules_of(tiers[tier]) if "alert" in r]


@pytest.mark.parametrize("tier", TIERS)
def test_every_alert_links_its_runbook_section(tiers, tier: str) -> None:
    assert broken_links(_alerts(tiers, tier), RUNBOOK_PAGE.read_text()) == []


def test_the_link_points_at_this_repositorys_page() -> None:
    assert RUNBOOKS == "https://github.com/sutra-ai/sutra-deploy/blob/main/docs/runbooks.md"
    assert RUNBOOKS.endswith("/blob/main/" + RUNBOOK_PAGE.relative_to(REPO_ROOT).as_posix())


def test_every_section_is_an_alerts_and_says_what_it_means_and_what_to_do(tiers) -> None:
    names = {r["alert"] for tier in TIERS for r in _alerts(tiers, tier)}
    found = sections(RUNBOOK_PAGE.read_text())
    assert set(found) == {anchor(n) for n in names}
    for name in names:
        body = found[anchor(name)]
        assert "**Means:**" in body and "**First:**" in body, name


def test_links_inside_the_page_resolve() -> None:
    text = RUNBOOK_PAGE.read_text()
    for target in re.findall(r"\]\(([^)]+)\)", text):
        path, _, fragment = target.partition("#")
        page = (RUNBOOK_PAGE.parent / path).resolve() if path else RUNBOOK_PAGE
        assert page.is_file(), target
        if fragment:
            headings = re.findall(r"^#+ (.+)$", page.read_text(), flags=re.MULTILINE)
            assert fragment in {anchor(h) for h in headings}, target


def test_a_missing_or_wrong_runbook_link_is_caught(tiers) -> None:
    rules = copy.deepcopy(_alerts(tiers, "high"))[:3]
    text = RUNBOOK_PAGE.read_text()
    rules[0]["annotations"]["runbook_url"] = RUNBOOKS + "#sutraapilatencyhihg"
    rules[1]["annotations"]["runbook_url"] = rules[2]["annotations"]["runbook_url"]
    del rules[2]["annotations"]["runbook_url"]
    assert broken_links(rules, text) == [
        f"{rules[0]['alert']}: docs/runbooks.md has no section #sutraapilatencyhihg",
        f"{rules[1]['alert']}: links #{anchor(rules[2]['alert'])}, another alert's section",
        f"{rules[2]['alert']}: runbook_url '' is not {RUNBOOKS}#...",
    ]


def test_a_section_removed_from_the_page_is_caught(tiers) -> None:
    text = Path(RUNBOOK_PAGE).read_text().replace("## SutraStorageServerDown", "## Storage down")
    problems = broken_links(_alerts(tiers, "low"), text)
    assert problems == ["SutraStorageServerDown: docs/runbooks.md has no section "
                        "#sutrastorageserverdown"]  # fmt: skip


def test_the_panels_the_page_names_are_on_the_dashboard() -> None:
    """`*Title*` in the page is a panel of a Grafana dashboard, so its advice can be followed."""
    text = " ".join(RUNBOOK_PAGE.read_text().split())
    named = set(re.findall(r"(?<![*\w])\*([^*]+?)\*(?![*\w])", text))
    titles = {p["title"] for path in dashboard_files() for p in panels(load(path))}
    assert {"API latency", "HPA replicas", "Commit latency"} <= named
    assert named - titles == set()
