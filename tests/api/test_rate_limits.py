"""Per-client rate limits of a running gateway: 429 with Retry-After, per client, per group;
every route limited unless exempt, and the exempt /ready cheap under a flood."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from sutra.api.app import create_app
from sutra.api.gateway import Gateway
from sutra.api.ratelimit import EXEMPT
from sutra.api.settings import ApiSettings
from sutra.common.testing import HttpService, dead_url, free_port
from sutra.storage.testing import ServerProcess

from .support import assert_error, metric, run_api

LIMITS = {
    "SUTRA_RATE_LIMIT_READ": "3",
    "SUTRA_RATE_LIMIT_SEARCH": "2",
    "SUTRA_RATE_LIMIT_LEARN": "2",
}


@pytest.fixture(scope="module")
def trusting(storage: ServerProcess, logs: Path) -> Iterator[HttpService]:
    """A gateway behind one trusted proxy: the client is the last X-Forwarded-For address."""
    env = {**LIMITS, "SUTRA_TRUST_FORWARDED": "true"}
    with run_api(storage.address, dead_url(), logs, env=env, ready_path="/health") as api:
        yield api


@pytest.fixture(scope="module")
def direct(storage: ServerProcess, logs: Path) -> Iterator[HttpService]:
    with run_api(storage.address, dead_url(), logs, env=LIMITS, ready_path="/health") as api:
        yield api


def test_over_the_limit_is_429_with_retry_after(trusting: HttpService) -> None:
    client = {"x-forwarded-for": "10.0.0.1, 203.0.113.7"}  # the proxy appended 203.0.113.7
    with httpx.Client(base_url=trusting.url, headers=client) as http:
        for _ in range(3):
            assert http.get("/stats").status_code == 200
        reply = http.get("/stats")
        error = assert_error(reply, 429, retry_after=True)
        # 3 per 60 s: a token comes back every 20 s.
        assert reply.headers["retry-after"] == "20"
        assert "3 read requests per 60 s" in error["message"]
        # Another route group has its own budget; /health is never limited.
        assert http.post("/search/vector", json={"vector": [1.0] * 384}).status_code == 200
        for _ in range(20):
            assert http.get("/health").status_code == 200
        text = http.get("/metrics").text
    assert metric(text, "sutra_api_rate_limited_total", group="read") == 1


def test_limits_are_per_client(trusting: HttpService) -> None:
    with httpx.Client(base_url=trusting.url) as http:
        for _ in range(3):
            assert (
                http.get("/stats", headers={"x-forwarded-for": "198.51.100.1"}).status_code == 200
            )
        assert_error(http.get("/stats", headers={"x-forwarded-for": "198.51.100.1"}), 429)
        assert http.get("/stats", headers={"x-forwarded-for": "198.51.100.2"}).status_code == 200


def test_what_the_caller_wrote_before_the_proxys_entry_buys_no_new_budget(
    trusting: HttpService,
) -> None:
    with httpx.Client(base_url=trusting.url) as http:
        for i in range(3):
            sent = {"x-forwarded-for": f"192.0.2.{i}, 198.51.100.50"}
            assert http.get("/stats", headers=sent).status_code == 200
        spoofed = {"x-forwarded-for": "192.0.2.99, 198.51.100.50"}
        assert_error(http.get("/stats", headers=spoofed), 429, retry_after=True)


def test_forwarded_header_is_ignored_unless_trusted(direct: HttpService) -> None:
    with httpx.Client(base_url=direct.url) as http:
        for i in range(2):
            reply = http.post(
                "/learn", json={"content": "x"}, headers={"x-forwarded-for": f"192.0.2.{i}"}
            )
            assert reply.status_code == 503  # hybrid is absent, but the request counted
        # A new forwarded address does not buy a new budget: the peer address is the client.
        reply = http.post("/learn", json={"content": "x"}, headers={"x-forwarded-for": "192.0.2.9"})
        assert_error(reply, 429, retry_after=True)


# ------------------------------------------------------------ every route, limited or exempt

APP = create_app(ApiSettings())
GROUPS = sorted(Gateway(ApiSettings()).limiter.limits)


def every_request() -> list[tuple[str, str, str]]:
    """(method, route template, a path it matches) for every route the app serves, /docs and
    /openapi.json included; a route this test cannot call fails it rather than being skipped."""
    requests = []
    for route in APP.routes:
        assert isinstance(route, Route) and route.methods, (
            f"{route!r} is not an HTTP route of known methods: call it here, show it limited"
        )
        path = re.sub(r"\{[^}]*\}", "0" * 32, route.path)  # any parameter: 32 hex digits
        requests += [(method, route.path, path) for method in sorted(route.methods)]
    return [*requests, ("GET", "(no route)", "/no-such-route")]


REQUESTS = every_request()


@pytest.fixture(scope="module")
def strict(storage: ServerProcess, logs: Path) -> Iterator[HttpService]:
    """Every group limited to 1 request per window, behind one trusted proxy."""
    assert all(f"rate_limit_{group}" in ApiSettings.model_fields for group in GROUPS)
    env = {f"SUTRA_RATE_LIMIT_{group.upper()}": "1" for group in GROUPS}
    env["SUTRA_TRUST_FORWARDED"] = "true"
    with run_api(storage.address, dead_url(), logs, env=env, ready_path="/health") as api:
        yield api


def test_the_exempt_list_names_only_routes_that_exist() -> None:
    assert set(EXEMPT) <= {(method, template) for method, template, _ in REQUESTS}
    assert {"/docs", "/openapi.json"} <= {template for _, template, _ in REQUESTS}


@pytest.mark.parametrize(
    ("method", "template", "path"), REQUESTS, ids=[f"{m} {t}" for m, t, _ in REQUESTS]
)
def test_every_route_is_limited_unless_exempt(
    strict: HttpService, method: str, template: str, path: str
) -> None:
    """Each case is a client of its own; with every limit at 1 the second request is over."""
    client = {"x-forwarded-for": f"192.0.2.{REQUESTS.index((method, template, path))}"}
    with httpx.Client(base_url=strict.url, headers=client) as http:
        replies = [http.request(method, path, json={}) for _ in range(3)]
    statuses = [r.status_code for r in replies]
    if (method, template) in EXEMPT:
        assert 429 not in statuses, statuses
        return
    assert statuses[0] != 429 and statuses[1:] == [429, 429], statuses
    if method == "HEAD":
        assert int(replies[1].headers["retry-after"]) >= 1
    else:
        assert_error(replies[1], 429, retry_after=True)


def test_the_schema_documents_429_exactly_where_it_can_happen() -> None:
    for path, item in APP.openapi()["paths"].items():
        for method, operation in item.items():
            limited = (method.upper(), path) not in EXEMPT
            assert ("429" in operation["responses"]) == limited, (method, path)


# ------------------------------------------------------------------ /ready under a flood


class SlowHybrid(ThreadingHTTPServer):
    """A real HTTP server in hybrid's place whose /ping takes 0.2 s; it counts the pings and
    the most that were in flight at once."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", free_port()), _SlowPing)
        self.lock = threading.Lock()
        self.pings = self.in_flight = self.most_in_flight = 0


class _SlowPing(BaseHTTPRequestHandler):
    server: SlowHybrid

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.pings += 1
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        time.sleep(0.2)
        with self.server.lock:
            self.server.in_flight -= 1
        body = b'{"status": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_flood_of_ready_checks_each_dependency_one_check_at_a_time(
    storage: ServerProcess, logs: Path
) -> None:
    hybrid = SlowHybrid()
    threading.Thread(target=hybrid.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{hybrid.server_address[1]}"
        with run_api(storage.address, url, logs) as api, ThreadPoolExecutor(40) as pool:
            started = hybrid.pings
            statuses = list(
                pool.map(lambda _: httpx.get(f"{api.url}/ready", timeout=10).status_code, range(40))
            )
        assert statuses == [200] * 40
        assert hybrid.most_in_flight == 1
        assert hybrid.pings - started < 20, "concurrent /ready calls did not share a check"
    finally:
        hybrid.shutdown()
        hybrid.server_close()
