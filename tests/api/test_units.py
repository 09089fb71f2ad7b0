"""The gateway's parts on their own: breaker, rate limiter, cache, settings."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest
from prometheus_client import CollectorRegistry, Gauge

from sutra.api.breaker import CircuitBreaker, DependencyFailure, State
from sutra.api.cache import MemoryCache, reason_key
from sutra.api.hybrid_client import HybridClient, public_field
from sutra.api.ratelimit import RateLimiter
from sutra.common.http import ServiceError


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def failing() -> DependencyFailure:
    return DependencyFailure(
        ServiceError(503, "unavailable", "storage: down", dependency="storage")
    )


def test_breaker_opens_after_consecutive_failures_and_probes_once() -> None:
    clock = Clock()
    gauge = Gauge("test_circuit_open", "x", ["dependency"], registry=CollectorRegistry())
    breaker = CircuitBreaker("storage", failures=3, reset_seconds=5, gauge=gauge, clock=clock)
    calls = 0

    async def down() -> None:
        nonlocal calls
        calls += 1
        raise failing()

    async def up() -> str:
        nonlocal calls
        calls += 1
        return "ok"

    async def scenario() -> None:
        nonlocal calls
        for _ in range(2):
            with pytest.raises(ServiceError):
                await breaker.call(down)
        await breaker.call(up)  # a success resets the count
        for _ in range(3):
            with pytest.raises(ServiceError):
                await breaker.call(down)
        assert breaker.state is State.OPEN
        assert gauge.labels(dependency="storage")._value.get() == 1
        calls = 0
        with pytest.raises(ServiceError) as refused:
            await breaker.call(up)
        assert calls == 0  # refused without calling
        assert refused.value.status == 503 and refused.value.dependency == "storage"
        assert refused.value.retry_after == 5
        clock.now += 5
        assert breaker.state is State.HALF_OPEN
        # The probe fails: open again for the full time.
        with pytest.raises(ServiceError):
            await breaker.call(down)
        assert breaker.state is State.OPEN and calls == 1
        clock.now += 5
        assert await breaker.call(up) == "ok"
        assert breaker.state is State.CLOSED
        assert gauge.labels(dependency="storage")._value.get() == 0

    asyncio.run(scenario())


def test_half_open_breaker_lets_one_probe_through_at_a_time() -> None:
    clock = Clock()
    breaker = CircuitBreaker("hybrid", failures=1, reset_seconds=1, clock=clock)
    breaker.failure()
    clock.now += 1
    assert breaker.allow()  # the probe
    assert not breaker.allow()  # others wait for its outcome
    with pytest.raises(ServiceError):
        breaker.check()
    breaker.success()
    assert breaker.allow() and breaker.state is State.CLOSED


def test_an_answer_that_is_an_error_is_not_a_failure() -> None:
    breaker = CircuitBreaker("storage", failures=1, reset_seconds=60)

    async def not_found() -> None:
        raise ServiceError(404, "not_found", "concept x does not exist")

    async def scenario() -> None:
        for _ in range(3):
            with pytest.raises(ServiceError):
                await breaker.call(not_found)

    asyncio.run(scenario())
    assert breaker.state is State.CLOSED


def test_rate_limiter_token_bucket() -> None:
    clock = Clock()
    limiter = RateLimiter(
        {"learn": 3, "read": 0}, window_seconds=60, trust_forwarded=False, clock=clock
    )
    for _ in range(3):
        limiter.hit("learn", "10.0.0.1")
    with pytest.raises(ServiceError) as refused:
        limiter.hit("learn", "10.0.0.1")
    assert refused.value.status == 429 and refused.value.retry_after == 20
    assert "3 learn requests per 60 s" in refused.value.message
    limiter.hit("learn", "10.0.0.2")  # another client has its own bucket
    for _ in range(100):
        limiter.hit("read", "10.0.0.1")  # 0: no limit
    clock.now += 20  # one token back
    limiter.hit("learn", "10.0.0.1")
    with pytest.raises(ServiceError):
        limiter.hit("learn", "10.0.0.1")


def scope_from(peer: str, *forwarded: bytes) -> dict:
    """An ASGI scope as uvicorn builds it: the peer and each X-Forwarded-For header line."""
    return {"client": (peer, 40000), "headers": [(b"x-forwarded-for", v) for v in forwarded]}


def test_rate_limiter_takes_the_entry_the_trusted_proxy_appended() -> None:
    """The one proxy in front appends the peer it saw; everything before was the caller's."""
    trusting = RateLimiter({"read": 1}, window_seconds=60, trust_forwarded=True)
    assert trusting.client_of(scope_from("10.0.0.9", b"203.0.113.7")) == "203.0.113.7"
    spoofed = [b"198.51.100.1, 203.0.113.7", b"198.51.100.2,203.0.113.7", b" , 203.0.113.7 "]
    assert {trusting.client_of(scope_from("10.0.0.9", v)) for v in spoofed} == {"203.0.113.7"}
    # Repeated header lines are one list: the proxy's entry is the last of the last line.
    two_lines = scope_from("10.0.0.9", b"198.51.100.1", b"198.51.100.2, 203.0.113.7")
    assert trusting.client_of(two_lines) == "203.0.113.7"
    # Without the header, or with an empty last entry, the peer is the client.
    assert trusting.client_of(scope_from("10.0.0.9")) == "10.0.0.9"
    assert trusting.client_of(scope_from("10.0.0.9", b"203.0.113.7, ")) == "10.0.0.9"
    # Not trusted: the header names nobody.
    direct = RateLimiter({"read": 1}, window_seconds=60, trust_forwarded=False)
    assert direct.client_of(scope_from("10.0.0.9", b"203.0.113.7")) == "10.0.0.9"


def test_rate_limiter_forgets_idle_clients_within_its_bound() -> None:
    clock = Clock()
    limiter = RateLimiter({"read": 5}, window_seconds=1, trust_forwarded=False, max_clients=10)
    limiter._clock = clock
    for i in range(100):
        limiter.hit("read", f"10.0.0.{i}")
        clock.now += 0.01
    assert len(limiter._buckets) <= 10


def test_memory_cache_ttl_lru_and_generations() -> None:
    clock = Clock()
    cache = MemoryCache(ttl_seconds=10, max_entries=2, clock=clock)

    async def scenario() -> None:
        value, generation = await cache.lookup("a")
        assert value is None
        await cache.store("a", {"answer": 1}, generation)
        assert (await cache.lookup("a"))[0] == {"answer": 1}
        await cache.store("b", {"answer": 2}, generation)
        await cache.lookup("a")  # a is now the most recent
        await cache.store("c", {"answer": 3}, generation)
        assert (await cache.lookup("b"))[0] is None  # evicted, least recently used
        assert (await cache.lookup("a"))[0] == {"answer": 1}
        clock.now += 10
        assert (await cache.lookup("a"))[0] is None  # expired
        # A learn between the lookup and the store: the answer is not cached.
        _, old = await cache.lookup("d")
        await cache.invalidate()
        await cache.store("d", {"answer": 4}, old)
        assert (await cache.lookup("d"))[0] is None
        await cache.store("c", {"answer": 3}, (await cache.lookup("c"))[1])
        await cache.invalidate()
        assert (await cache.lookup("c"))[0] is None

    asyncio.run(scenario())


def test_reason_key_normalises_the_question() -> None:
    key = reason_key("What causes  rain?", 3, 3, 0.3)
    assert reason_key("  what causes rain? ", 3, 3, 0.3) == key
    assert reason_key("What causes rain?", 4, 3, 0.3) != key
    assert reason_key("What causes rain?", 3, 3, 0.31) != key
    assert reason_key("What causes snow?", 3, 3, 0.3) != key


def test_hybrid_field_names_become_public_names() -> None:
    assert public_field("text") == "content"
    assert public_field("items.3.text") == "items.3.content"
    assert public_field("max_depth") == "max_steps"
    assert public_field("query") == "query"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SUTRA_API_PORT", "99999"),
        ("SUTRA_STORAGE_SERVER", "no-port"),
        ("SUTRA_HYBRID_URL", "ftp://x"),
        ("SUTRA_REDIS_URL", "http://cache:6379"),
        ("SUTRA_RATE_LIMIT_LEARN", "-1"),
        ("SUTRA_MAX_BODY_BYTES", "lots"),
        ("SUTRA_BREAKER_FAILURES", "0"),
    ],
)
def test_a_bad_setting_stops_the_service_with_one_line(variable: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sutra.api"],
        env={**os.environ, variable: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"sutra-api: invalid setting {variable}:"), lines[0]


def test_hybrid_answers_become_the_gateway_errors() -> None:
    client = HybridClient("http://hybrid:8001", timeout=1)

    def answer(status: int, **error: object) -> Exception:
        body = {"error": {"status": status, "code": "x", "message": "m", **error}}
        return client._error(httpx.Response(status, json=body, headers={"retry-after": "3"}), "/p")

    storage_down = answer(503, dependency="storage", message="storage unavailable: gone")
    assert isinstance(storage_down, ServiceError)
    assert (storage_down.status, storage_down.dependency, storage_down.retry_after) == (
        503,
        "storage",
        3.0,
    )
    queue_full = answer(503, dependency="embedder")
    assert isinstance(queue_full, ServiceError) and queue_full.dependency == "hybrid"
    for status in (500, 502, 404):
        failed = answer(status)
        assert isinstance(failed, DependencyFailure) and failed.error.dependency == "hybrid"
    invalid = answer(422, field="items.0.text", message="items.0.text: too long")
    assert isinstance(invalid, ServiceError) and invalid.status == 422
    assert invalid.field == "items.0.content" and invalid.message == "items.0.content: too long"
    asyncio.run(client.close())


def test_the_not_blank_pattern_agrees_with_the_stores_idea_of_blank() -> None:
    """The schema's pattern, pydantic's check and the store's `str.strip()` must agree, or the
    API would refuse what its schema accepts (or pass blank text on to be refused later)."""
    import re

    from sutra.api.models import NOT_BLANK

    for code in range(0x110000):
        char = chr(code)
        assert (re.search(NOT_BLANK, char) is None) == char.isspace(), hex(code)
