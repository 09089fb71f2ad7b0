"""A circuit breaker per dependency: stop calling a dependency that keeps failing.

While storage or hybrid is down, every request that needs it would otherwise wait for its
deadline, piling up connections in the gateway and retries on the dependency as it comes
back. After `failures` consecutive failures the breaker opens: calls are refused at once
(503 naming the dependency, Retry-After = the time left) for `reset_seconds`. Then it is
half-open: one call (a request or a /ready check) is let through as a probe; its success
closes the breaker, its failure opens it again. Errors that prove the dependency answered
(a 404, a 422) are successes here.

The event loop is single-threaded, so the state needs no lock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

from prometheus_client import Gauge

from sutra.common.http import ServiceError
from sutra.common.logging import log_event

log = logging.getLogger("sutra.api.breaker")

T = TypeVar("T")


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class DependencyFailure(Exception):
    """Raised through the breaker when a dependency failed; carries the error to report."""

    def __init__(self, error: ServiceError) -> None:
        super().__init__(error.message)
        self.error = error


class CircuitBreaker:
    def __init__(
        self,
        dependency: str,
        *,
        failures: int,
        reset_seconds: float,
        gauge: Gauge | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dependency = dependency
        self.failures = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._consecutive = 0
        self._opened_at = 0.0
        self._open = False
        self._probing = False
        self._gauge = gauge.labels(dependency=dependency) if gauge is not None else None
        if self._gauge is not None:
            self._gauge.set(0)

    @property
    def state(self) -> State:
        if not self._open:
            return State.CLOSED
        if self._clock() - self._opened_at < self.reset_seconds:
            return State.OPEN
        return State.HALF_OPEN

    def retry_after(self) -> float:
        """Seconds until the breaker lets a probe through (0 when it does now)."""
        if not self._open:
            return 0.0
        return max(0.0, self.reset_seconds - (self._clock() - self._opened_at))

    def rejection(self) -> ServiceError:
        return ServiceError(
            503,
            "circuit_open",
            f"{self.dependency} is unavailable (circuit open after {self.failures} "
            f"consecutive failures); retry in {max(1, round(self.retry_after()))} s",
            dependency=self.dependency,
            retry_after=max(1.0, self.retry_after()),
        )

    def allow(self) -> bool:
        """May a call go through now? In half-open state only one probe at a time."""
        state = self.state
        if state is State.CLOSED:
            return True
        if state is State.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def check(self) -> None:
        """Raise the 503 at once when the breaker would refuse a call (no probe taken)."""
        state = self.state
        if state is State.OPEN or (state is State.HALF_OPEN and self._probing):
            raise self.rejection()

    def success(self) -> None:
        self._consecutive = 0
        self._probing = False
        if self._open:
            self._open = False
            if self._gauge is not None:
                self._gauge.set(0)
            log_event(log, "circuit closed", dependency=self.dependency)

    def failure(self) -> None:
        self._probing = False
        self._consecutive += 1
        if self._open or self._consecutive >= self.failures:
            if not self._open:
                log_event(
                    log,
                    "circuit opened",
                    logging.WARNING,
                    dependency=self.dependency,
                    failures=self._consecutive,
                    open_seconds=self.reset_seconds,
                )
            self._open = True
            self._opened_at = self._clock()
            if self._gauge is not None:
                self._gauge.set(1)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run `fn` through the breaker; DependencyFailure counts, anything else does not."""
        if not self.allow():
            raise self.rejection()
        try:
            result = await fn()
        except DependencyFailure as exc:
            self.failure()
            raise exc.error from None
        except ServiceError:
            self.success()  # the dependency answered, e.g. 404 or 422
            raise
        except BaseException:
            self._probing = False  # e.g. the client went away: proves nothing
            raise
        self.success()
        return result
