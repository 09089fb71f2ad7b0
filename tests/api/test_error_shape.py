"""One error mapping across api and hybrid: an invalid field is 422, a dependency down is
503, a dependency too slow is 504, and both services answer each with the same body."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sutra.common.http import ErrorBody
from sutra.common.latency_proxy import LatencyProxy
from sutra.common.testing import HttpService, free_port, run_http_service
from sutra.storage.testing import ServerProcess

from .support import assert_error, frozen, run_api


@dataclass
class Services:
    storage: ServerProcess
    hybrid: httpx.Client
    api: httpx.Client
    proxy: LatencyProxy  # between api and hybrid


@pytest.fixture(scope="module")
def services(storage: ServerProcess, logs: Path) -> Iterator[Services]:
    port = free_port()
    env = {
        "SUTRA_HYBRID_HOST": "127.0.0.1",
        "SUTRA_HYBRID_PORT": str(port),
        "SUTRA_STORAGE_SERVER": storage.address,
        "SUTRA_HYBRID_STORAGE_TIMEOUT": "0.3",
    }
    hybrid: HttpService
    with (
        run_http_service(
            "sutra.hybrid", env=env, port=port, log_path=logs / "hybrid.log"
        ) as hybrid,
        LatencyProxy("127.0.0.1", port) as proxy,
        run_api(
            storage.address,
            f"http://127.0.0.1:{proxy.port}",
            logs,
            env={"SUTRA_BUDGET_REASON_SECONDS": "0.5"},
        ) as api,
        httpx.Client(base_url=hybrid.url, timeout=30) as to_hybrid,
        httpx.Client(base_url=api.url, timeout=30) as to_api,
    ):
        yield Services(storage, to_hybrid, to_api, proxy)


def same_shape(reply: httpx.Response, status: int, **expected: str) -> dict[str, object]:
    """The one error body (it reads back as `ErrorBody` unchanged) with this status."""
    error = assert_error(reply, status, **expected)
    assert ErrorBody.model_validate(reply.json()).model_dump(exclude_none=True) == reply.json()
    return error


def test_an_invalid_field_is_422_naming_it_in_both(services: Services) -> None:
    api = same_shape(services.api.post("/reason", json={"query": ""}), 422, field="query")
    hybrid = same_shape(services.hybrid.post("/sutra/query", json={"query": ""}), 422)
    assert api["code"] == hybrid["code"] == "invalid_request"
    assert hybrid["field"] == "query"
    header = {"X-Sutra-Deadline-Ms": "soon"}
    reply = services.hybrid.post("/sutra/query", json={"query": "q"}, headers=header)
    same_shape(reply, 422, field="X-Sutra-Deadline-Ms")


def test_too_slow_is_504_naming_who(services: Services) -> None:
    expired = {"X-Sutra-Deadline-Ms": "0"}
    reply = services.hybrid.post("/sutra/search", json={"query": "rain"}, headers=expired)
    assert same_shape(reply, 504)["code"] == "deadline_exceeded"
    services.proxy.delay = 1.0  # hybrid's answers now arrive after the 0.5 s /reason budget
    try:
        reply = services.api.post("/reason", json={"query": "What causes rain?"})
    finally:
        services.proxy.delay = 0.0
    assert same_shape(reply, 504, dependency="hybrid")["code"] == "deadline_exceeded"


def test_down_is_503_naming_what(services: Services) -> None:
    """Last in the module: it closes the proxy between api and hybrid."""
    with frozen(services.storage.pid):  # hybrid's storage calls time out: storage is down
        reply = services.hybrid.post("/sutra/search", json={"query": "rain"})
    same_shape(reply, 503, dependency="storage", retry_after=True)
    services.proxy.close()  # nothing answers where the api calls hybrid
    reply = services.api.post("/semantic-search", json={"query": "rain"})
    same_shape(reply, 503, dependency="hybrid", retry_after=True)
