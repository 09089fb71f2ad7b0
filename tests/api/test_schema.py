"""Property-based tests of the published OpenAPI schema against the running stack.

Schemathesis generates requests from the schema for every operation and checks each
answer: no 5xx, a documented status, a documented content type and headers, and a body
that matches the documented schema. With storage and hybrid up, a 5xx would be the
gateway's own bug.

The schema is built in process at collection time (the operations become test ids) and is
checked to be exactly what the running server publishes at /openapi.json.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from sutra.api.app import create_app
from sutra.api.settings import ApiSettings
from sutra.common.testing import HttpService
from sutra.storage.testing import ServerProcess

from .support import run_api, run_hybrid

OPENAPI = create_app(ApiSettings()).openapi()
# The bulk upload's body (POST /learn/jobs) is NDJSON text, which every string conforms to,
# so negative cases cannot exist on the wire; tests/api/test_learn_jobs.py covers it.
schema = schemathesis.openapi.from_dict(OPENAPI).exclude(method="POST", path="/learn/jobs")


@pytest.fixture(scope="module")
def api(storage: ServerProcess, logs: Path) -> Iterator[HttpService]:
    with (
        run_hybrid(storage.address, logs) as hybrid,
        run_api(storage.address, hybrid.url, logs) as service,
    ):
        yield service


def test_the_server_publishes_this_schema(api: HttpService) -> None:
    assert httpx.get(f"{api.url}/openapi.json").json() == OPENAPI


@schema.parametrize()
@settings(
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case: schemathesis.Case, api: HttpService) -> None:
    case.call_and_validate(base_url=api.url, timeout=30)
