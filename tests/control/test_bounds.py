"""The dashboard's graph API bounds every value a request carries; a value past its bound is a
422 naming it (a real dashboard process; the walker is proven in tests/api/test_bounds)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sutra.common.testing import HttpService, dead_url, free_port
from sutra.control.app import create_app
from sutra.control.settings import ControlSettings
from tests.api.bounds import OverTheBound, over_the_bounds, unbounded

from .support import TOKEN, run_control

# The dashboard publishes no schema (openapi_url=None): it is built in process.
OPENAPI = create_app(ControlSettings(control_token=TOKEN)).openapi()
CASES = over_the_bounds(OPENAPI)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_every_request_value_is_bounded() -> None:
    assert unbounded(OPENAPI) == []
    assert {str(case) for case in CASES} >= {
        "GET /api/graph/search q",
        "GET /api/graph/search limit",
        "GET /api/graph/concepts/{concept_id} limit",
    }


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpService]:
    """sutra-control with a token, every service down: requests stop at validation or 503."""
    env = {
        "SUTRA_CONTROL_TOKEN": TOKEN,
        "SUTRA_STORAGE_SERVER": f"127.0.0.1:{free_port()}",
        "SUTRA_STORAGE_METRICS_URL": dead_url() + "/metrics",
        "SUTRA_HYBRID_URL": dead_url(),
        "SUTRA_API_URL": dead_url(),
    }
    folder: Path = tmp_path_factory.mktemp("bounded-control")
    with run_control(env, folder) as control:
        yield control


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_value_past_its_bound_is_a_422_naming_the_field(
    dashboard: HttpService, case: OverTheBound
) -> None:
    with httpx.Client(base_url=dashboard.url, headers=AUTH, timeout=10) as http:
        valid = http.request(case.method, case.valid.path, params=case.valid.params)
        assert valid.status_code != 422, valid.text
        past = http.request(case.method, case.past.path, params=case.past.params)
    assert past.status_code == 422, past.text
    error = past.json()["error"]
    assert error["field"] == case.field and error["message"].startswith(f"{case.field}: ")
