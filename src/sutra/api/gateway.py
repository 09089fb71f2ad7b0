"""Everything a request handler needs, built from the settings, started in the lifespan.

The network clients are created in `start()`, inside the server's event loop, because a
grpc.aio channel belongs to the loop that first uses it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sutra.api.breaker import CircuitBreaker, DependencyFailure
from sutra.api.cache import ReasonCache, make_cache
from sutra.api.hybrid_client import HybridClient
from sutra.api.metrics import ApiMetrics
from sutra.api.ratelimit import DEFAULT_GROUP, RateLimiter
from sutra.api.settings import ApiSettings
from sutra.api.storage import StorageGateway
from sutra.common.http import ServiceError
from sutra.storage.aio import AsyncStorageClient
from sutra.storage.errors import StorageError


class Gateway:
    def __init__(self, settings: ApiSettings, metrics: ApiMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or ApiMetrics()
        self.started = time.monotonic()
        self.storage_breaker, self.hybrid_breaker = (
            CircuitBreaker(
                name,
                failures=settings.breaker_failures,
                reset_seconds=settings.breaker_reset_seconds,
                gauge=self.metrics.circuit_open,
            )
            for name in ("storage", "hybrid")
        )
        self.limiter = RateLimiter(
            {
                "learn": settings.rate_limit_learn,
                "batch": settings.rate_limit_batch,
                "search": settings.rate_limit_search,
                "reason": settings.rate_limit_reason,
                "read": settings.rate_limit_read,
                DEFAULT_GROUP: settings.rate_limit_default,
            },
            window_seconds=settings.rate_limit_window_seconds,
            trust_forwarded=settings.trust_forwarded,
            max_clients=settings.rate_limit_max_clients,
            counter=self.metrics.rate_limited,
            evicted=self.metrics.rate_limit_evicted,
        )
        self._storage: StorageGateway | None = None
        self._hybrid: HybridClient | None = None
        self._cache: ReasonCache | None = None
        self._readiness: asyncio.Future[dict[str, str | None]] | None = None

    async def start(self) -> None:
        s = self.settings
        client = AsyncStorageClient(s.storage_server, timeout=s.storage_timeout)
        self._storage = StorageGateway(client, self.storage_breaker, self.metrics)
        self._hybrid = HybridClient(s.hybrid_url, timeout=s.hybrid_timeout)
        self._cache = make_cache(
            s.redis_url,
            ttl_seconds=s.cache_ttl_seconds,
            max_entries=s.cache_max_entries,
            timeout=s.redis_timeout,
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
        self, operation: str, call: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Call hybrid for work that also needs storage (learn, reason, search).

        Fails at once while either breaker is open. Hybrid reporting storage down counts
        against the storage breaker; a hybrid success proves storage answered too.
        """
        self.storage_breaker.check()
        started = time.perf_counter()
        try:
            result = await self.hybrid_breaker.call(call)
        except ServiceError as exc:
            if exc.status == 503 and exc.dependency == "storage" and exc.code == "unavailable":
                self.storage_breaker.failure()
            raise
        finally:
            self.metrics.downstream.labels(dependency="hybrid", operation=operation).observe(
                time.perf_counter() - started
            )
        self.storage_breaker.success()
        return result

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

    async def _probe(
        self, breaker: CircuitBreaker, check: Callable[[], Awaitable[None]]
    ) -> str | None:
        """None when the dependency answers, else why not (the breaker sees the outcome)."""
        try:
            await breaker.call(check)
        except ServiceError as exc:
            return exc.message
        return None

    async def _check_both(self) -> dict[str, str | None]:
        storage, hybrid = await asyncio.gather(
            self._probe(self.storage_breaker, self._check_storage),
            self._probe(self.hybrid_breaker, self._check_hybrid),
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
