"""Per-client rate limits: a token bucket per (client, route group), in process.

A bucket holds `limit` tokens and refills at `limit / window` tokens a second, so a client
may burst up to its limit and then gets a steady share; a request without a token is
answered 429 with Retry-After = the seconds until the next token. Limits are per API
replica: with N replicas behind a load balancer a client gets at most N times the limit,
which is the price of not putting a shared store on every request's path.

Every request is limited unless `EXEMPT` names it with a reason: a route that has no group
of its own (/docs, /openapi.json, an unknown path, a route added later) is charged to
`DEFAULT_GROUP`, so forgetting about limits leaves a route limited, not open.

The client is the peer address; with SUTRA_TRUST_FORWARDED=true, the gateway trusts exactly
one proxy directly in front of it (the ingress controller, or sutra-client's nginx) and the
client is the LAST X-Forwarded-For entry: the address that proxy appended for the peer it saw.
Every entry before it was written by the caller (any caller may send the header), so taking the
first would let a client pick a new identity, and a new budget, with every request. Without
that setting the header is ignored: nothing guarantees a proxy wrote any of it.

Memory is bounded under a flood of distinct clients: at most `max_clients` buckets, each key
cut to `MAX_CLIENT_CHARS`. The table is kept in least-recently-seen order; to make room, the
buckets idle for a whole window go first (they have refilled, so they equal a new bucket and
dropping them changes nothing), then, only if the table is still full, the least recently
seen one (counted in `sutra_api_rate_limit_evicted_total`). A client that keeps calling stays
at the recent end and keeps its count; the table is never cleared wholesale.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from sutra.common.http import ServiceError

#: The group of every limited request that no other group claims.
DEFAULT_GROUP = "default"

#: The only requests never limited, each with the reason. Keep it short: each entry is a
#: request anyone can repeat as fast as they like.
EXEMPT: dict[tuple[str, str], str] = {
    ("GET", "/health"): "the kubelet's liveness probe: a refused probe restarts a healthy pod",
    ("GET", "/ready"): "the kubelet's readiness probe and the dashboard's reading of every "
    "round: a refusal takes a serving pod out of the Service (concurrent calls share one "
    "dependency check, so a flood costs storage and hybrid one check at a time)",
    ("GET", "/metrics"): "Prometheus and the dashboard scrape it on their own schedule: a "
    "refused scrape loses samples and fires absent-target alerts",
}

#: Longest client key kept: an IPv6 address with a zone fits; anything longer is not an
#: address, and cutting it bounds what one bucket costs.
MAX_CLIENT_CHARS = 64


@dataclass(slots=True)
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
        evicted: Counter | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.window = window_seconds
        self.trust_forwarded = trust_forwarded
        self.max_clients = max_clients
        # Least recently seen first: a hit moves its bucket to the end.
        self._buckets: OrderedDict[tuple[str, str], _Bucket] = OrderedDict()
        self._counter = counter
        self._evicted = evicted
        self._clock = clock

    def __len__(self) -> int:
        return len(self._buckets)

    def client_of(self, scope: Scope) -> str:
        """The peer, or the last X-Forwarded-For entry (what the trusted proxy appended)."""
        if self.trust_forwarded:
            forwarded = [value for name, value in scope["headers"] if name == b"x-forwarded-for"]
            if forwarded:
                # Repeated headers are one comma-separated list: the proxy's entry ends it.
                last = forwarded[-1].decode("latin-1").rsplit(",", 1)[-1].strip()
                if last:
                    return last[:MAX_CLIENT_CHARS]
        client = scope.get("client")
        return client[0][:MAX_CLIENT_CHARS] if client else "unknown"

    def hit(self, group: str, client: str) -> None:
        """Take a token for `client` in `group`, or raise the 429."""
        limit = self.limits.get(group, 0)
        if limit <= 0:
            return
        now = self._clock()
        rate = limit / self.window
        key = (group, client[:MAX_CLIENT_CHARS])
        bucket = self._buckets.get(key)
        if bucket is None:
            self._make_room(now)
            bucket = self._buckets[key] = _Bucket(float(limit), now)
        else:
            self._buckets.move_to_end(key)
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

    def _make_room(self, now: float) -> None:
        """Before adding a bucket: drop the refilled ones, then the least recently seen one
        while the table is full. Each bucket is dropped at most once: O(1) amortised."""
        buckets = self._buckets
        while buckets:
            oldest = next(iter(buckets.values()))
            if now - oldest.updated < self.window:
                break  # this one and all after it were seen within the window
            buckets.popitem(last=False)
        while len(buckets) >= self.max_clients:
            buckets.popitem(last=False)
            if self._evicted is not None:
                self._evicted.inc()


def group_of(method: str, path: str) -> str | None:
    """The rate-limit group of a request; None only for the `EXEMPT` ones."""
    if (method, path) in EXEMPT:
        return None
    if method == "POST":
        return _POST_GROUPS.get(path, DEFAULT_GROUP)
    if method == "GET" and (path.startswith("/concepts/") or path == "/stats"):
        return "read"
    return DEFAULT_GROUP


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
        if scope["type"] in ("http", "websocket"):
            # A WebSocket handshake is a GET: a WebSocket route added later is limited too
            # (refused with an HTTP 429 denial response).
            group = group_of(scope.get("method", "GET"), scope["path"])
            if group is not None:
                try:
                    self.limiter.hit(group, self.limiter.client_of(scope))
                except ServiceError as exc:
                    await exc.response()(scope, receive, send)
                    return
        await self.app(scope, receive, send)
