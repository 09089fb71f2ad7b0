"""The two front ends of the UI answer alike: the Python server `sutra up` runs and the image's
nginx (Debian's nginx 1.22 on the image's own configuration, run unprivileged). Both serve a
bundle with the headers of `sutra.client.headers` and proxy /api/ to a real sutra-api, whose
dependencies are down here (its /health answers, its /reason and /stats are 503)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sutra.client.bundle import build
from sutra.client.headers import IMMUTABLE, NO_CACHE, security_headers

from .support import dead_url, run_api_alone, run_client, run_nginx

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
    python_env = {"SUTRA_API_BASE": ELSEWHERE}
    nginx_env = {"SUTRA_API_BASE": ELSEWHERE, "SUTRA_CONNECT_SRC": f"'self' {ELSEWHERE}"}
    with run_client(down, logs, python_env) as python, run_nginx(down, nginx_env) as nginx:
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


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_the_caller_is_named_to_the_api_so_rate_limits_are_per_caller(served, front) -> None:
    url = served[front]
    caller = {"X-Forwarded-For": f"203.0.113.{FRONT_ENDS.index(front) + 1}"}
    first = httpx.get(url + "/api/stats", headers=caller)
    assert first.status_code == 503  # its one read; storage is down
    limited = httpx.get(url + "/api/stats", headers=caller)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1
    other = httpx.get(url + "/api/stats", headers={"X-Forwarded-For": "198.51.100.7"})
    assert other.status_code in (503, 429)
    if other.status_code == 429:  # the other front end's test spent it: a third caller
        third = {"X-Forwarded-For": f"198.51.100.{10 + FRONT_ENDS.index(front)}"}
        assert httpx.get(url + "/api/stats", headers=third).status_code == 503


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
    assert re.search(r'"apiBase": "https://api\.example\.com"', config), config
