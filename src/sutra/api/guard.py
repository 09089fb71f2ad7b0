"""Each dependency's guard: its circuit breaker and its bulkhead, counted in the metrics.

The bulkhead bounds the calls to one dependency in flight from this gateway. A dependency
that hangs holds each call until its deadline; without a bound, a busy gateway soon has
every request waiting on it, and requests that need only the other dependency queue behind
them. Past the bound a call is refused at once (503 naming the dependency, Retry-After),
without a waiting queue: a queue in front of a hung dependency only moves the wait.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sutra.api.breaker import BreakerPolicy, CircuitBreaker, State
from sutra.api.deadline import Deadline
from sutra.api.metrics import ApiMetrics
from sutra.common.http import ServiceError

T = TypeVar("T")
RETRY_AFTER = 1.0


class Bulkhead:
    """At most `limit` calls in flight; the next is refused, not queued."""

    def __init__(self, dependency: str, limit: int) -> None:
        if limit < 1:
            raise ValueError("a bulkhead needs a limit of at least 1")
        self.dependency = dependency
        self.limit = limit
        self.in_flight = 0

    def try_enter(self) -> bool:
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1

    def rejection(self) -> ServiceError:
        return ServiceError(
            503,
            "bulkhead_full",
            f"{self.dependency} unavailable ({self.limit} calls to it already in flight from "
            f"this gateway); retry in {RETRY_AFTER:g} s",
            dependency=self.dependency,
            retry_after=RETRY_AFTER,
        )


class Guard:
    def __init__(
        self,
        dependency: str,
        policy: BreakerPolicy,
        limit: int,
        metrics: ApiMetrics,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dependency = dependency
        self.metrics = metrics
        self.bulkhead = Bulkhead(dependency, limit)
        self.breaker = CircuitBreaker(
            dependency, policy, clock=clock, on_change=self._changed, on_record=self._recorded
        )
        # Every series exists from the start at 0, so rate() and alerts see the first event.
        # The children of the per-call series are kept: `labels()` costs a lock and a lookup.
        self._rejected = {
            reason: metrics.rejected.labels(dependency=dependency, reason=reason)
            for reason in ("open", "bulkhead", "deadline")
        }
        self._outcomes = {
            failed: metrics.outcomes.labels(dependency=dependency, outcome=outcome)
            for failed, outcome in ((False, "success"), (True, "failure"))
        }
        for state in State:
            metrics.transitions.labels(dependency=dependency, state=state.value)
        self._slow_calls = metrics.slow_calls.labels(dependency=dependency)
        metrics.degraded.labels(dependency=dependency)

    def _changed(self, state: State) -> None:
        self.metrics.transitions.labels(dependency=self.dependency, state=state.value).inc()

    def _recorded(self, failed: bool, slow: bool) -> None:
        self._outcomes[failed].inc()
        if slow:
            self._slow_calls.inc()

    def rejected(self, reason: str) -> None:
        self._rejected[reason].inc()

    def timeout(self, deadline: Deadline, cap: float) -> float:
        """The time the next call may take: min(cap, the request's budget left); 504 if none."""
        try:
            return deadline.timeout(cap, self.dependency)
        except ServiceError:
            self.rejected("deadline")
            raise

    def check(self) -> None:
        """Raise the breaker's 503 if it would refuse a call now (no permit taken)."""
        try:
            self.breaker.check()
        except ServiceError:
            self.rejected("open")
            raise

    async def call(self, fn: Callable[[], Awaitable[T]], *, bulkhead: bool = True) -> T:
        """`fn` through the breaker and, unless `bulkhead` is False (the /ready checks, one
        at a time already), the bulkhead. An open breaker is reported before a full bulkhead."""
        self.check()
        if bulkhead and not self.bulkhead.try_enter():
            self.rejected("bulkhead")
            raise self.bulkhead.rejection()
        try:
            return await self.breaker.call(fn)
        finally:
            if bulkhead:
                self.bulkhead.leave()

    def gauges(self) -> tuple[str, int, int]:
        return self.breaker.state.value, self.bulkhead.in_flight, self.bulkhead.limit

    def report(self) -> dict[str, Any]:
        """The breaker's state and the bulkhead's load, as /ready shows them."""
        return {
            **self.breaker.snapshot(),
            "in_flight": self.bulkhead.in_flight,
            "bulkhead_limit": self.bulkhead.limit,
        }
