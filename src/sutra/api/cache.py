"""The /reason response cache: in process (TTL + LRU) by default, Redis when configured.

Reasoning is the expensive request and popular questions repeat, so the gateway answers a
repeated question from the cache. The key is the normalised request: the query with case
and spacing folded, and the parameters that change the answer.

Learning changes answers, so the cache has a generation: every successful learn bumps it
and entries from an older generation are misses. With Redis the generation is a Redis key
read in the same round trip as the entry, so a learn through one replica invalidates the
cache of all of them; the in-process cache can only know of learns through its own replica
and relies on its TTL for the rest.

While hybrid or storage is unavailable, `/reason` falls back on `stale(key)`: an answer kept
for `stale_seconds` past its TTL or past a learn (stale-if-error), served marked as degraded.
With Redis, an entry's freshness is a wall-clock time in the entry, so that Redis can keep it
for the stale time beyond; replicas' clocks need only agree to well within the TTL.

The cache is an optimisation, never a dependency: a Redis error (or a Redis that does not
answer within SUTRA_REDIS_TIMEOUT) skips the cache for that request, is counted in
sutra_api_cache_errors_total, and Redis is left alone for a second before it is tried again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from prometheus_client import Counter

KEY_PREFIX = "sutra:api:reason:"
GENERATION_KEY = f"{KEY_PREFIX}generation"


def reason_key(query: str, max_steps: int, num_paths: int, threshold: float) -> str:
    normalised = " ".join(query.split()).casefold()
    payload = json.dumps([normalised, max_steps, num_paths, round(threshold, 6)])
    return hashlib.sha256(payload.encode()).hexdigest()


class ReasonCache(Protocol):
    backend: str

    async def lookup(self, key: str) -> tuple[dict[str, Any] | None, int]:
        """(the cached response or None, the generation token to store a fresh one with)."""
        ...

    async def store(self, key: str, value: dict[str, Any], generation: int) -> None: ...

    async def invalidate(self) -> None:
        """The knowledge changed: older entries must not be served (but as `stale`)."""
        ...

    async def stale(self, key: str) -> dict[str, Any] | None:
        """The answer last stored under `key`, fresh or not, if kept; for degraded answers."""
        ...

    async def close(self) -> None: ...


class MemoryCache:
    backend = "memory"

    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_entries: int,
        stale_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self.stale_seconds = stale_seconds
        self._clock = clock
        # key -> (fresh until, kept until, generation, value), least recently used first
        self._entries: OrderedDict[str, tuple[float, float, int, dict[str, Any]]] = OrderedDict()
        self._generation = 0

    def _kept(self, key: str) -> tuple[float, int, dict[str, Any]] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        fresh_until, kept_until, generation, value = entry
        if kept_until <= self._clock():
            del self._entries[key]
            return None
        return fresh_until, generation, value

    async def lookup(self, key: str) -> tuple[dict[str, Any] | None, int]:
        kept = self._kept(key)
        if kept is None or kept[1] != self._generation or kept[0] <= self._clock():
            return None, self._generation
        self._entries.move_to_end(key)
        return kept[2], self._generation

    async def store(self, key: str, value: dict[str, Any], generation: int) -> None:
        if generation != self._generation or self.ttl <= 0:
            return  # computed before a learn: possibly stale already
        fresh_until = self._clock() + self.ttl
        self._entries[key] = (fresh_until, fresh_until + self.stale_seconds, generation, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def invalidate(self) -> None:
        self._generation += 1
        if self.stale_seconds <= 0:
            self._entries.clear()

    async def stale(self, key: str) -> dict[str, Any] | None:
        if self.stale_seconds <= 0:
            return None
        kept = self._kept(key)
        return None if kept is None else kept[2]

    async def close(self) -> None:
        self._entries.clear()


class RedisCache:
    backend = "redis"
    cooldown_seconds = 1.0

    def __init__(
        self,
        url: str,
        *,
        ttl_seconds: float,
        timeout: float,
        stale_seconds: float = 0.0,
        errors: Counter | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.ttl = ttl_seconds
        self.stale_seconds = stale_seconds
        self._errors = errors
        self._clock = clock
        self._wall_clock = wall_clock
        self._skip_until = 0.0
        # No client-side retries: a second attempt would only double the time lost.
        self._redis = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            decode_responses=False,
        )
        self._error_types: tuple[type[BaseException], ...] = (
            redis.RedisError,
            OSError,
            TimeoutError,
        )

    def _failed(self, operation: str) -> None:
        if self._errors is not None:
            self._errors.labels(backend=self.backend, operation=operation).inc()
        self._skip_until = self._clock() + self.cooldown_seconds

    def _available(self, operation: str) -> bool:
        if self._clock() < self._skip_until:
            if self._errors is not None:
                self._errors.labels(backend=self.backend, operation=f"{operation}_skipped").inc()
            return False
        return True

    async def lookup(self, key: str) -> tuple[dict[str, Any] | None, int]:
        if not self._available("lookup"):
            return None, -1
        try:
            generation_raw, raw = await self._redis.mget(GENERATION_KEY, KEY_PREFIX + key)
        except self._error_types:
            self._failed("lookup")
            return None, -1
        generation = int(generation_raw or 0)
        if raw is None:
            return None, generation
        try:
            entry = json.loads(raw)
        except ValueError:
            return None, generation
        if not isinstance(entry, dict) or entry.get("g") != generation:
            return None, generation
        fresh_until = entry.get("f")  # absent in entries without a stale time
        if isinstance(fresh_until, int | float) and fresh_until <= self._wall_clock():
            return None, generation
        return entry.get("v"), generation

    async def store(self, key: str, value: dict[str, Any], generation: int) -> None:
        if generation < 0 or self.ttl <= 0 or not self._available("store"):
            return
        entry = {"g": generation, "v": value, "f": self._wall_clock() + self.ttl}
        payload = json.dumps(entry, separators=(",", ":"))
        keep = self.ttl + self.stale_seconds
        try:
            await self._redis.set(KEY_PREFIX + key, payload, px=max(1, int(keep * 1000)))
        except self._error_types:
            self._failed("store")

    async def stale(self, key: str) -> dict[str, Any] | None:
        if self.stale_seconds <= 0 or not self._available("stale"):
            return None
        try:
            raw = await self._redis.get(KEY_PREFIX + key)
        except self._error_types:
            self._failed("stale")
            return None
        try:
            entry = json.loads(raw) if raw is not None else None
        except ValueError:
            return None
        value = entry.get("v") if isinstance(entry, dict) else None
        return value if isinstance(value, dict) else None

    async def invalidate(self) -> None:
        try:
            await self._redis.incr(GENERATION_KEY)
        except self._error_types:
            # Entries of the old generation expire with their TTL.
            self._failed("invalidate")

    async def close(self) -> None:
        await self._redis.aclose()


def make_cache(
    redis_url: str | None,
    *,
    ttl_seconds: float,
    max_entries: int,
    timeout: float,
    stale_seconds: float = 0.0,
    errors: Counter | None = None,
) -> ReasonCache:
    if redis_url:
        return RedisCache(
            redis_url,
            ttl_seconds=ttl_seconds,
            timeout=timeout,
            stale_seconds=stale_seconds,
            errors=errors,
        )
    return MemoryCache(
        ttl_seconds=ttl_seconds, max_entries=max_entries, stale_seconds=stale_seconds
    )
