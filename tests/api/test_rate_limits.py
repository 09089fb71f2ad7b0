"""Per-client rate limits of a running gateway: 429 with Retry-After, per client, per group."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sutra.common.testing import HttpService, dead_url
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
