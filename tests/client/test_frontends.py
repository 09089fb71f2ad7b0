"""The two front ends of the UI answer alike: the Python server `sutra up` runs and the image's
nginx (Debian's nginx 1.22 on the image's own configuration, run unprivileged). Both serve a
bundle with the headers of `sutra.client.headers` and proxy /api/ to a real sutra-api, whose
dependencies are down here (its /health answers, its /reason and /stats are 503)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from sutra.client.bundle import build
from sutra.client.headers import IMMUTABLE, NO_CACHE, security_headers
from sutra.common.testing import dead_url

from .support import run_api_alone, run_client, run_nginx

ELSEWHERE = "https://api.example.com"
FRONT_ENDS = ("python", "nginx")


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("client-logs")


@pytest.fixture(scope="module")
def api(logs: Path) -> Iterator[Any]:
    # One read per caller per hour: the second /stats of a caller is its 429.
    env = {"SUTRA_RATE_LIMIT_READ": "1", "SUTRA_RATE_LIMIT_WINDOW_SECONDS": "3600",
           "SUTRA_TRUST_FORWARDED": "true"}  # fmt: skip
    with run_api_alone(logs, env) as service:
        yield service


@pytest.fixture(scope="module")
def served(api: Any, logs: Path) -> Iterator[dict[str, str]]:
    """Front end -> URL, both proxying to the running API with the default API base."""
    with run_client(api.url, logs) as python, run_nginx(api.url) as nginx:
        yield {"python": python.url, "nginx": nginx.url}


@pytest.fixture(scope="module")
def stranded(logs: Path) -> Iterator[dict[str, str]]:
    """Front ends whose API is down and whose page is told to call the API elsewhere."""
    down = dead_url()
    # One variable for nginx too: it derives connect-src from the API base as the bundle does.
    env = {"SUTRA_API_BASE": ELSEWHERE + "/v1"}
    with run_client(down, logs, env) as python, run_nginx(down, env) as nginx:
        yield {"python": python.url, "nginx": nginx.url}


def assert_security_headers(response: httpx.Response, api_base: str = "/api") -> None:
    for name, value in security_headers(api_base).items():
        assert response.headers.get(name) == value, (response.url, name)


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_index_and_config_are_revalidated_and_assets_cached_for_a_year(served, front) -> None:
    url = served[front]
    index = httpx.get(url + "/")
    assert index.status_code == 200
    assert index.headers["cache-control"] == NO_CACHE
    assert index.headers["content-type"].startswith("text/html")
    assert_security_headers(index)
    bundle = build()
    assert index.text == bundle.files["index.html"].decode()
    for path in bundle.assets.values():
        assert f'"{path}"' in index.text
        asset = httpx.get(f"{url}/{path}")
        assert asset.status_code == 200, path
        assert asset.headers["cache-control"] == IMMUTABLE
        assert asset.content == bundle.files[path]
        assert_security_headers(asset)
    config = httpx.get(url + "/config.js")
    assert config.headers["cache-control"] == NO_CACHE
    assert 'window.SUTRA_CONFIG = {"apiBase": "/api"};' in config.text
    # no-cache means revalidate: an unchanged index.html is a 304
    again = httpx.get(url + "/", headers={"If-None-Match": index.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_unknown_paths_are_404_never_cached_long_and_still_guarded(served, front) -> None:
    url = served[front]
    for path in ("/nope", "/assets/app.000000000000.js", "/assets", "/assets/", "/api",
                 "/index.html/x", "/%2e%2e/%2e%2e/etc/passwd"):  # fmt: skip
        response = httpx.get(url + path)
        assert response.status_code in (400, 404), (front, path, response.status_code)
        assert "immutable" not in response.headers.get("cache-control", ""), path
        assert_security_headers(response)
        assert "root:" not in response.text


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_api_calls_are_proxied_without_the_prefix_and_errors_pass_through(served, front):
    url = served[front]
    health = httpx.get(url + "/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert_security_headers(health)
    # The API's own 503 (hybrid is down) reaches the page as it is, Retry-After included.
    reason = httpx.post(url + "/api/reason", json={"query": "What is the heart?"}, timeout=30)
    assert reason.status_code == 503
    assert reason.json()["error"]["dependency"] == "hybrid"
    assert int(reason.headers["retry-after"]) >= 1
    # ... and so does its 422 naming the field.
    bad = httpx.post(url + "/api/reason", json={"query": ""})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "query"


def from_peer(address: str) -> httpx.Client:
    """A client whose connections come from `address` (every 127.x.y.z is this machine), so
    each test is a caller of its own to the API's one-read-per-hour limit."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def stats(client: httpx.Client, url: str, forwarded: str | None = None) -> int:
    """The status of GET /api/stats: 503 for the caller's one read (storage is down), 429 after."""
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    reply = client.get(url + "/api/stats", headers=headers)
    if reply.status_code == 429:
        assert reply.json()["error"]["code"] == "rate_limited"
        assert int(reply.headers["retry-after"]) >= 1
    return reply.status_code


SPOOFED = ("198.51.100.1", "198.51.100.2, 198.51.100.3", None)


def test_the_python_server_names_its_peer_whatever_the_caller_claims(served) -> None:
    """Nobody stands in front of it: the peer is the caller, X-Forwarded-For is the caller's
    own invention and buys no new rate-limit bucket."""
    with from_peer("127.0.0.2") as caller:
        assert stats(caller, served["python"], "203.0.113.1") == 503  # its one read
        for claimed in SPOOFED:
            assert stats(caller, served["python"], claimed) == 429, claimed
    with from_peer("127.0.0.3") as other:
        assert stats(other, served["python"], "203.0.113.1") == 503  # another caller's own


def test_nginx_names_the_caller_its_ingress_appended(served) -> None:
    """The ingress controller (every peer, by default) appends the caller it saw; what the
    caller wrote before that entry is ignored, so one caller is one bucket."""
    with from_peer("127.0.0.4") as ingress:
        assert stats(ingress, served["nginx"], "203.0.113.20") == 503
        for claimed in SPOOFED:
            sent = f"{claimed}, 203.0.113.20" if claimed else "203.0.113.20"
            assert stats(ingress, served["nginx"], sent) == 429, sent
        assert stats(ingress, served["nginx"], "198.51.100.1, 203.0.113.21") == 503  # another


def test_nginx_names_its_peer_when_it_does_not_trust_it(api: Any) -> None:
    """SUTRA_REAL_IP_FROM narrowed to an address the test does not come from: the header of
    an untrusted peer names nobody, the peer is the caller."""
    with run_nginx(api.url, {"SUTRA_REAL_IP_FROM": "192.0.2.1"}) as nginx:
        with from_peer("127.0.0.5") as caller:
            assert stats(caller, nginx.url, "203.0.113.30") == 503
            for claimed in SPOOFED:
                assert stats(caller, nginx.url, claimed) == 429, claimed
        with from_peer("127.0.0.6") as other:
            assert stats(other, nginx.url, "203.0.113.30") == 503


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_the_path_reaches_the_api_as_the_caller_encoded_it(served, front) -> None:
    url = served[front]
    # Decoded, %23 would start a fragment (the API would answer /health) and %3F a query
    # (the API would run /reason); encoded, neither names a route of the API.
    health = httpx.get(url + "/api/health%23x")
    reason = httpx.post(url + "/api/reason%3Fx=1", json={"query": "What is the heart?"})
    for reply in (health, reason):
        assert reply.status_code == 404, (reply.url, reply.text)
        assert reply.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_a_body_over_the_limit_is_a_json_413_naming_the_limit(served, front) -> None:
    url = served[front]
    limit = 1024 * 1024
    headers = {"Content-Type": "application/json"}
    body = b"x" * (limit + 1)
    declared = httpx.post(url + "/api/learn", content=body, headers=headers)

    def arriving() -> Iterator[bytes]:  # no Content-Length: chunked, counted as it arrives
        yield body[: limit // 2]
        yield body[limit // 2 :]

    chunked = httpx.post(url + "/api/learn", content=arriving(), headers=headers)
    for reply in (declared, chunked):
        assert reply.status_code == 413
        error = reply.json()["error"]
        assert error["code"] == "payload_too_large" and error["field"] == "body"
        assert f"{limit} bytes" in error["message"]
        assert_security_headers(reply)
    # At the limit the API answers itself: the body is not JSON.
    at_limit = httpx.post(url + "/api/learn", content=body[:limit], headers=headers)
    assert at_limit.status_code == 422


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_a_declared_oversized_body_is_refused_before_it_is_sent(served, front) -> None:
    """Content-Length alone decides: the 413 comes while the body is still unsent (a front end
    that waited for it would never answer, and the read below would time out)."""
    parts = urlsplit(served[front])
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/learn HTTP/1.1\r\nHost: sutra\r\nContent-Type: application/json\r\n"
            b"Content-Length: 50000000\r\n\r\n{"
        )
        head = sock.recv(65536).split(b"\r\n", 1)[0]
    assert head.startswith(b"HTTP/1.1 413"), head


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_an_unreachable_api_is_a_json_502_and_the_page_still_loads(stranded, front) -> None:
    url = stranded[front]
    down = httpx.post(url + "/api/reason", json={"query": "anything"})
    assert down.status_code == 502
    error = down.json()["error"]
    assert error["code"] == "api_unreachable" and error["dependency"] == "sutra-api"
    assert_security_headers(down, ELSEWHERE)
    assert httpx.get(url + "/health").status_code == 200
    page = httpx.get(url + "/")
    assert page.status_code == 200
    assert_security_headers(page, ELSEWHERE)
    assert f"connect-src 'self' {ELSEWHERE};" in page.headers["content-security-policy"]
    config = httpx.get(url + "/config.js").text
    assert re.search(r'"apiBase": "https://api\.example\.com/v1"', config), config
