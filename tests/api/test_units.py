"""The gateway's parts on their own: rate limiter, cache, settings (breaker: test_breaker)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tracemalloc

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter

from sutra.api.breaker import DependencyFailure
from sutra.api.cache import MemoryCache, reason_key
from sutra.api.hybrid_client import HybridClient, public_field
from sutra.api.ratelimit import (
    DEFAULT_GROUP,
    EXEMPT,
    MAX_CLIENT_CHARS,
    RateLimiter,
    RateLimitMiddleware,
    group_of,
)
from sutra.common.http import ServiceError


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


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


def refused(limiter: RateLimiter, group: str, client: str) -> bool:
    try:
        limiter.hit(group, client)
    except ServiceError as exc:
        assert exc.status == 429 and exc.retry_after is not None and exc.retry_after >= 1
        return True
    return False


def test_a_flood_of_new_clients_stays_within_the_cap_and_keeps_an_active_count() -> None:
    """100k distinct clients in one window, one client over its limit calling throughout:
    the table never passes its cap, and that client's count is never reset."""
    clock = Clock()
    registry = CollectorRegistry()
    evicted = Counter("test_evicted", "x", registry=registry)
    cap = 10_000
    limiter = RateLimiter(
        {"read": 3}, window_seconds=60, trust_forwarded=False, max_clients=cap,
        evicted=evicted, clock=clock,
    )  # fmt: skip
    for _ in range(3):
        limiter.hit("read", "203.0.113.7")
    assert refused(limiter, "read", "203.0.113.7")
    largest = 0
    for i in range(100_000):
        limiter.hit("read", f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}")
        largest = max(largest, len(limiter))
        clock.now += 0.0001  # 10 s in all: every bucket is still inside its window
        if i % 1000 == 0:
            assert refused(limiter, "read", "203.0.113.7"), f"reset after {i} new clients"
    assert largest <= cap
    assert refused(limiter, "read", "203.0.113.7")
    # Every new client past the cap took the place of a live bucket, one at a time.
    assert registry.get_sample_value("test_evicted_total") == 100_000 + 1 - cap


def test_refilled_buckets_make_room_before_any_live_one() -> None:
    clock = Clock()
    limiter = RateLimiter({"read": 2}, window_seconds=60, trust_forwarded=False, clock=clock)
    limiter.max_clients = 4
    for client in ("idle-1", "idle-2"):
        limiter.hit("read", client)
    clock.now += 60  # a whole window: both have refilled and carry nothing
    for client in ("busy-1", "busy-2"):
        limiter.hit("read", client)
        limiter.hit("read", client)
    limiter.hit("read", "new-1")
    assert len(limiter) == 3  # both idle buckets went, no live one did
    limiter.hit("read", "new-2")
    assert len(limiter) == 4
    assert refused(limiter, "read", "busy-1")  # seen again: now the most recent
    limiter.hit("read", "new-3")  # full of live buckets: the least recently seen goes
    assert len(limiter) == 4
    assert refused(limiter, "read", "busy-1")
    assert not refused(limiter, "read", "busy-2")  # it was that one: it starts over


def test_long_client_names_cost_bounded_memory() -> None:
    limiter = RateLimiter({"read": 1}, window_seconds=60, trust_forwarded=True, max_clients=1000)
    long_entry = b"203.0.113.7, " + b"x" * 10_000
    client = limiter.client_of(scope_from("10.0.0.9", long_entry))
    assert client == "x" * MAX_CLIENT_CHARS
    limiter.hit("read", "y" * 10_000)
    assert refused(limiter, "read", "y" * MAX_CLIENT_CHARS)  # the same, cut, bucket
    names = [f"{i:05d}" * 200 for i in range(20_000)]  # 1000 characters each
    tracemalloc.start()
    try:
        for name in names:
            limiter.hit("read", name)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(limiter) == 1000
    assert held < 1000 * 600, f"{held / 1000:.0f} bytes per bucket"


def test_every_request_has_a_group_but_the_exempt_ones() -> None:
    """A path no group names (a route added later, /docs, a typo) is limited by default."""
    assert set(EXEMPT) == {("GET", "/health"), ("GET", "/ready"), ("GET", "/metrics")}
    assert all(len(reason) > 40 for reason in EXEMPT.values())
    assert [group_of(m, p) for m, p in EXEMPT] == [None] * len(EXEMPT)
    assert group_of("GET", "/concepts/" + "0" * 32 + "/neighbors") == "read"
    assert group_of("POST", "/learn/batch") == "batch"
    for method, path in [
        ("GET", "/docs"),
        ("GET", "/openapi.json"),
        ("GET", "/added-tomorrow"),
        ("POST", "/health"),
        ("HEAD", "/metrics"),
        ("POST", "/stats"),
        ("DELETE", "/concepts/" + "0" * 32),
        ("GET", "/health/"),
    ]:
        assert group_of(method, path) == DEFAULT_GROUP, (method, path)


def test_a_websocket_handshake_is_limited_like_any_request() -> None:
    """No WebSocket route exists; one added later is limited (an HTTP 429 denial) too."""
    limiter = RateLimiter({DEFAULT_GROUP: 1}, window_seconds=60, trust_forwarded=False)
    reached: list[str] = []

    async def app(scope: dict, receive: object, send: object) -> None:
        reached.append(scope["path"])

    middleware = RateLimitMiddleware(app, limiter=limiter)  # type: ignore[arg-type]
    scope = {"type": "websocket", "path": "/live", "headers": [], "client": ("10.0.0.1", 1)}
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "websocket.connect"}

    asyncio.run(middleware(dict(scope), receive, send))  # type: ignore[arg-type]
    assert reached == ["/live"] and sent == []
    asyncio.run(middleware(dict(scope), receive, send))  # type: ignore[arg-type]
    assert reached == ["/live"]
    assert sent[0]["type"] == "websocket.http.response.start" and sent[0]["status"] == 429


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
        ("SUTRA_BREAKER_FAILURE_RATE", "0"),
        ("SUTRA_BREAKER_MIN_CALLS", "21"),
        ("SUTRA_BUDGET_REASON_SECONDS", "0"),
        ("SUTRA_BULKHEAD_HYBRID", "0"),
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


def test_lean_reads_only_plain_requests_and_only_simple_routes() -> None:
    from fastapi import APIRouter, Depends

    from sutra.api.lean import serve_lean
    from sutra.api.routers.concepts import plain_read

    cid = "ab" * 16

    def scope(concept_id: str, query: bytes = b"") -> dict:
        return {"path_params": {"concept_id": concept_id}, "query_string": query}

    plain = {"concept_id": cid.upper(), "include_embedding": False}
    assert plain_read(scope(cid.upper())) == plain
    assert plain_read(scope(cid, b"include_embedding=true"))["include_embedding"] is True
    # Anything else is left to FastAPI's validation.
    for odd in (scope(cid + "\n"), scope(cid[:-1]), scope("g" * 32), scope(cid, b"x=1")):
        assert plain_read(odd) is None

    async def number() -> int:
        return 1

    router = APIRouter()

    @router.get("/deep")
    async def deep(n: int = Depends(number)) -> dict:
        return {"n": n}

    with pytest.raises(TypeError, match="take the request only"):
        serve_lean(router, "/deep", plain_read)
