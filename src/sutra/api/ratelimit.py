"""Per-client rate limits: a token bucket per (client, route group), in process.

A bucket holds `limit` tokens and refills at `limit / window` tokens a second, so a client
may burst up to its limit and then gets a steady share; a request without a token is
answered 429 with Retry-After = the seconds until the next token. Limits are per API
replica: with N replicas behind a load balancer a client gets at most N times the limit,
which is the price of not putting a shared store on every request's path.

The client is the peer address; with SUTRA_TRUST_FORWARDED=true, the gateway trusts exactly
one proxy directly in front of it (the ingress controller, or sutra-client's nginx) and the
client is the LAST X-Forwarded-For entry: the address that proxy appended for the peer it saw.
Every entry before it was written by the caller (any caller may send the header), so taking the
first would let a client pick a new identity, and a new budget, with every request. Without
that setting the header is ignored: nothing guarantees a proxy wrote any of it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from sutra.common.http import ServiceError


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(
        self,
        limits: dict[str, int],
        *,
        window_seconds: float,
        trust_forwarded: bool,
        max_clients: int = 100_000,
        counter: Counter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.window = window_seconds
        self.trust_forwarded = trust_forwarded
        self.max_clients = max_clients
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._counter = counter
        self._clock = clock

    def client_of(self, scope: Scope) -> str:
        """The peer, or the last X-Forwarded-For entry (what the trusted proxy appended)."""
        if self.trust_forwarded:
            forwarded = [value for name, value in scope["headers"] if name == b"x-forwarded-for"]
            if forwarded:
                # Repeated headers are one comma-separated list: the proxy's entry ends it.
                last = forwarded[-1].decode("latin-1").rsplit(",", 1)[-1].strip()
                if last:
                    return last
        client = scope.get("client")
        return client[0] if client else "unknown"

    def hit(self, group: str, client: str) -> None:
        """Take a token for `client` in `group`, or raise the 429."""
        limit = self.limits.get(group, 0)
        if limit <= 0:
            return
        now = self._clock()
        rate = limit / self.window
        key = (group, client)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_clients:
                self._evict(now)
            bucket = self._buckets[key] = _Bucket(float(limit), now)
        else:
            bucket.tokens = min(float(limit), bucket.tokens + (now - bucket.updated) * rate)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return
        if self._counter is not None:
            self._counter.labels(group=group).inc()
        wait = (1.0 - bucket.tokens) / rate
        raise ServiceError(
            429,
            "rate_limited",
            f"rate limit of {limit} {group} requests per {self.window:g} s exceeded; "
            f"retry in {math.ceil(wait)} s",
            retry_after=math.ceil(wait),
        )

    def _evict(self, now: float) -> None:
        """Drop buckets that have refilled (they equal a new one), else the stalest half."""
        full = [
            key for key, bucket in self._buckets.items() if (now - bucket.updated) >= self.window
        ]
        for key in full:
            del self._buckets[key]
        if len(self._buckets) >= self.max_clients:
            stalest = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            for key in stalest[: len(stalest) // 2 + 1]:
                del self._buckets[key]


def group_of(method: str, path: str) -> str | None:
    """The rate-limit group of a request; None for the unlimited operations endpoints."""
    if method == "POST":
        return _POST_GROUPS.get(path)
    if path.startswith("/concepts/") or path == "/stats":
        return "read"
    return None


_POST_GROUPS = {
    "/learn": "learn",
    "/learn/batch": "batch",
    "/reason": "reason",
    "/semantic-search": "search",
    "/search/vector": "search",
}


class RateLimitMiddleware:
    """Charge each request before it is routed or its body is read: a client over its limit
    costs the gateway a dictionary look-up, not a parse and a validation."""

    def __init__(self, app: ASGIApp, *, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            group = group_of(scope["method"], scope["path"])
            if group is not None:
                try:
                    self.limiter.hit(group, self.limiter.client_of(scope))
                except ServiceError as exc:
                    await exc.response()(scope, receive, send)
                    return
        await self.app(scope, receive, send)
