"""Everything a request handler needs, built from the settings, started in the lifespan.

The network clients are created in `start()`, inside the server's event loop, because a
grpc.aio channel belongs to the loop that first uses it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sutra.api.breaker import BreakerPolicy, CircuitBreaker, DependencyFailure
from sutra.api.cache import ReasonCache, make_cache
from sutra.api.deadline import Deadline
from sutra.api.guard import Guard
from sutra.api.hybrid_client import HybridClient
from sutra.api.metrics import ApiMetrics
from sutra.api.ratelimit import DEFAULT_GROUP, RateLimiter
from sutra.api.settings import ApiSettings
from sutra.api.storage import StorageGateway
from sutra.common.http import ServiceError
from sutra.storage.errors import StorageError
from sutra.storage.shards.aio import async_storage_client

Reply = TypeVar("Reply")


def breaker_policy(settings: ApiSettings, slow_call_seconds: float) -> BreakerPolicy:
    return BreakerPolicy(
        window=settings.breaker_window_calls,
        min_calls=settings.breaker_min_calls,
        failure_rate=settings.breaker_failure_rate,
        slow_call_rate=settings.breaker_slow_call_rate,
        slow_call_seconds=slow_call_seconds,
        reset_seconds=settings.breaker_reset_seconds,
        half_open_calls=settings.breaker_half_open_calls,
    )


class Gateway:
    def __init__(self, settings: ApiSettings, metrics: ApiMetrics | None = None) -> None:
        s = settings
        self.settings = settings
        self.metrics = metrics or ApiMetrics()
        self.started = time.monotonic()
        self.storage_guard = Guard(
            "storage",
            breaker_policy(s, s.storage_slow_call_seconds),
            s.bulkhead_storage,
            self.metrics,
        )
        self.hybrid_guard = Guard(
            "hybrid", breaker_policy(s, s.hybrid_slow_call_seconds), s.bulkhead_hybrid, self.metrics
        )
        self.metrics.watch([self.storage_guard, self.hybrid_guard])
        self.limiter = RateLimiter(
            {
                "learn": s.rate_limit_learn,
                "batch": s.rate_limit_batch,
                "search": s.rate_limit_search,
                "reason": s.rate_limit_reason,
                "read": s.rate_limit_read,
                DEFAULT_GROUP: s.rate_limit_default,
            },
            window_seconds=s.rate_limit_window_seconds,
            trust_forwarded=s.trust_forwarded,
            max_clients=s.rate_limit_max_clients,
            counter=self.metrics.rate_limited,
            evicted=self.metrics.rate_limit_evicted,
        )
        self._storage: StorageGateway | None = None
        self._hybrid: HybridClient | None = None
        self._cache: ReasonCache | None = None
        self._readiness: asyncio.Future[dict[str, str | None]] | None = None

    @property
    def storage_breaker(self) -> CircuitBreaker:
        return self.storage_guard.breaker

    @property
    def hybrid_breaker(self) -> CircuitBreaker:
        return self.hybrid_guard.breaker

    async def start(self) -> None:
        s = self.settings
        client = async_storage_client(s.storage_server, timeout=s.storage_timeout)
        self._storage = StorageGateway(client, self.storage_guard, self.metrics)
        self._hybrid = HybridClient(s.hybrid_url, timeout=s.hybrid_timeout)
        self._cache = make_cache(
            s.redis_url,
            ttl_seconds=s.cache_ttl_seconds,
            max_entries=s.cache_max_entries,
            timeout=s.redis_timeout,
            stale_seconds=s.cache_stale_seconds,
            errors=self.metrics.cache_errors,
        )

    async def stop(self) -> None:
        if self._hybrid is not None:
            await self._hybrid.close()
        if self._storage is not None:
            await self._storage.client.close()
        if self._cache is not None:
            await self._cache.close()

    @property
    def storage(self) -> StorageGateway:
        assert self._storage is not None, "Gateway.start() has not run"
        return self._storage

    @property
    def hybrid(self) -> HybridClient:
        assert self._hybrid is not None, "Gateway.start() has not run"
        return self._hybrid

    @property
    def cache(self) -> ReasonCache:
        assert self._cache is not None, "Gateway.start() has not run"
        return self._cache

    def uptime(self) -> float:
        return time.monotonic() - self.started

    async def via_hybrid(
        self,
        operation: str,
        call: Callable[[float], Awaitable[Reply]],
        deadline: Deadline,
        cap: float,
    ) -> Reply:
        """`call(timeout)` to hybrid, for work that also needs storage (learn, reason, search).

        The call waits min(cap, the request's budget left). It fails at once while either
        breaker is open or hybrid's bulkhead is full. Hybrid reporting storage down or too
        slow counts against the storage breaker, not hybrid's; a hybrid success proves
        storage answered too.
        """
        timeout = self.hybrid_guard.timeout(deadline, cap)
        storage = self.storage_guard.breaker.acquire()
        if storage is None:
            self.storage_guard.rejected("open")
            raise self.storage_guard.breaker.rejection()
        started = time.perf_counter()
        try:
            result = await self.hybrid_guard.call(lambda: call(timeout))
        except ServiceError as exc:
            if exc.dependency == "storage" and (exc.status == 504 or exc.code == "unavailable"):
                self.storage_guard.breaker.record(storage, failed=True, seconds=0.0)
            else:
                self.storage_guard.breaker.release(storage)
            raise
        except BaseException:
            self.storage_guard.breaker.release(storage)
            raise
        finally:
            self.metrics.downstream.labels(dependency="hybrid", operation=operation).observe(
                time.perf_counter() - started
            )
        self.storage_guard.breaker.record(storage, failed=False, seconds=0.0)
        return result

    async def degraded(self, key: str, error: ServiceError) -> dict[str, Any] | None:
        """A stale cached answer for `key` when `error` says a dependency is unavailable
        (refused, full, too slow, unreachable), else None: the error stands."""
        if error.status not in (503, 504) or error.dependency not in ("hybrid", "storage"):
            return None
        answer = await self.cache.stale(key)
        if answer is not None:
            self.metrics.degraded.labels(dependency=error.dependency).inc()
        return answer

    # --------------------------------------------------------------- readiness

    async def _check_storage(self) -> None:
        try:
            serving = await self.storage.client.health(timeout=self.settings.ready_timeout)
        except StorageError as exc:
            raise DependencyFailure(
                ServiceError(503, "unavailable", f"storage: {exc.message}", dependency="storage")
            ) from None
        if not serving:
            raise DependencyFailure(
                ServiceError(503, "unavailable", "storage: not serving", dependency="storage")
            )

    async def _check_hybrid(self) -> None:
        await self.hybrid.ping(timeout=self.settings.ready_timeout)

    async def _probe(self, guard: Guard, check: Callable[[], Awaitable[None]]) -> str | None:
        """None when the dependency answers, else why not (the breaker sees the outcome;
        the bulkhead does not apply: these checks go one at a time already)."""
        try:
            await guard.call(check, bulkhead=False)
        except ServiceError as exc:
            return exc.message
        return None

    async def _check_both(self) -> dict[str, str | None]:
        storage, hybrid = await asyncio.gather(
            self._probe(self.storage_guard, self._check_storage),
            self._probe(self.hybrid_guard, self._check_hybrid),
        )
        return {"storage": storage, "hybrid": hybrid}

    async def readiness(self) -> dict[str, str | None]:
        """Each dependency's problem, None when it answers.

        /ready is never rate limited (the kubelet probes it), so concurrent calls share the
        check in flight: a flood of /ready costs each dependency one check at a time. A call
        that arrives after that check ends starts a new one, so no answer is stale.
        """
        if self._readiness is None or self._readiness.done():
            self._readiness = asyncio.ensure_future(self._check_both())
        # Shielded: a caller that goes away does not cancel the others' check.
        return await asyncio.shield(self._readiness)
