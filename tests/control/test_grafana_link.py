"""The page links the cluster's Grafana dashboard when SUTRA_GRAFANA_URL names it, and only then.

The dashboard runs for real (its services are down: the link needs none of them); the page is
checked in Debian's headless Chromium.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from sutra.common.testing import dead_url, free_port
from sutra.control.settings import ControlSettings

from .support import run_control

GRAFANA = "https://grafana.sutra.example/d/sutra-overview/sutra-overview?orgId=1"


def _env(grafana: str | None) -> dict[str, str]:
    env = {
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{free_port()}",
        "SUTRA_STORAGE_METRICS_URL": dead_url() + "/metrics",
        "SUTRA_HYBRID_URL": dead_url(),
        "SUTRA_API_URL": dead_url(),
        "SUTRA_CONTROL_TOKEN": "",
    }
    return env if grafana is None else {**env, "SUTRA_GRAFANA_URL": grafana}


@pytest.mark.parametrize("grafana", [GRAFANA, None])
def test_the_page_links_grafana_when_it_is_set(
    browser_page, tmp_path: Path, grafana: str | None
) -> None:
    with run_control(_env(grafana), tmp_path) as control:
        assert httpx.get(control.url + "/api/auth").json()["grafana_url"] == grafana
        page = browser_page.page
        page.goto(control.url + "/")
        page.locator("#dashboard").wait_for(state="visible")
        link = page.locator("#nav-grafana")
        if grafana is None:
            assert link.is_hidden()
        else:
            link.wait_for(state="visible")
            assert link.get_attribute("href") == grafana
            assert link.get_attribute("target") == "_blank"
            assert "noopener" in (link.get_attribute("rel") or "")
        assert browser_page.errors_except("Failed to load resource") == []


@pytest.mark.parametrize("value", ["grafana:3000", "ftp://grafana.example/d/x", "javascript:x"])
def test_a_grafana_link_that_is_not_an_http_url_is_refused(monkeypatch, value: str) -> None:
    monkeypatch.setenv("SUTRA_GRAFANA_URL", value)
    with pytest.raises(ValidationError) as info:
        ControlSettings()
    assert info.value.errors()[0]["loc"] == ("grafana_url",)


def test_an_empty_grafana_link_means_none(monkeypatch) -> None:
    monkeypatch.setenv("SUTRA_GRAFANA_URL", " ")
    assert ControlSettings().grafana_url is None
