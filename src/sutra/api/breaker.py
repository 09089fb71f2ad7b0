"""A circuit breaker per dependency that sees slowness as well as failures.

A dependency that hangs (a GC pause, a stuck GPU call, a partition) fails nothing until its
calls time out, so a breaker that counts consecutive failures stays closed while every
request waits on it. This one follows resilience4j's model: it judges the outcomes of the
last `window` calls and opens when, with at least `min_calls` of them recorded, the share
that failed reaches `failure_rate` or the share slower than `slow_call_seconds` (successful
or not) reaches `slow_call_rate`. A call cut by its deadline is a failure, and slow.

Open, it refuses calls at once (503 naming the dependency, Retry-After = the time left) for
`reset_seconds`. Then it is half-open: `half_open_calls` probes (requests or /ready checks)
are let through and judged by the same two rates; they close it or open it again. Errors that
prove the dependency answered (a 404, a 422) are successes; a call that proves nothing (the
client went away, or the dependency blamed one of its own) is released unrecorded.

Own code rather than a library: pybreaker, aiobreaker, purgatory and circuitbreaker count
consecutive failures only (no rate over a window, no slow calls), and aiomisc's breaker,
which has an error ratio over a time window, neither counts slow successes nor bounds the
half-open probes, and comes with a framework. The event loop is single-threaded, so the
state needs no lock.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from sutra.common.http import ServiceError
from sutra.common.logging import log_event

log = logging.getLogger("sutra.api.breaker")

T = TypeVar("T")
Permit = int  # the breaker's epoch when the call was let through


class State(Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class DependencyFailure(Exception):
    """Raised through the breaker when a dependency failed; carries the error to report."""

    def __init__(self, error: ServiceError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass(frozen=True)
class BreakerPolicy:
    window: int = 20  # calls judged
    min_calls: int = 10  # recorded calls before the rates are judged
    failure_rate: float = 0.5
    slow_call_rate: float = 0.5
    slow_call_seconds: float = 1.0
    reset_seconds: float = 5.0  # open time
    half_open_calls: int = 3  # probes

    def __post_init__(self) -> None:
        if not 1 <= self.min_calls <= self.window:
            raise ValueError("min_calls must be between 1 and window")
        if not (0 < self.failure_rate <= 1 and 0 < self.slow_call_rate <= 1):
            raise ValueError("rates must be in (0, 1]")
        if self.slow_call_seconds <= 0 or self.reset_seconds <= 0 or self.half_open_calls < 1:
            raise ValueError("slow_call_seconds, reset_seconds and half_open_calls must be > 0")


def _reaches(count: int, total: int, rate: float) -> bool:
    return total > 0 and count >= rate * total - 1e-9


class Window:
    """The outcomes of the last `size` calls, with running counts of the failed and slow."""

    def __init__(self, size: int) -> None:
        self._calls: deque[tuple[bool, bool]] = deque(maxlen=size)
        self.failed = 0
        self.slow = 0

    def __len__(self) -> int:
        return len(self._calls)

    def add(self, failed: bool, slow: bool) -> None:
        if len(self._calls) == self._calls.maxlen:
            old_failed, old_slow = self._calls[0]
            self.failed -= old_failed
            self.slow -= old_slow
        self._calls.append((failed, slow))
        self.failed += failed
        self.slow += slow

    def clear(self) -> None:
        self._calls.clear()
        self.failed = self.slow = 0

    def why(self, policy: BreakerPolicy, total: int, calls: str) -> str | None:
        """Why these outcomes open the breaker, judged over `total` calls (`calls` in words);
        None if they don't."""
        if _reaches(self.failed, total, policy.failure_rate):
            return f"{self.failed} of {calls} failed"
        if _reaches(self.slow, total, policy.slow_call_rate):
            return f"{self.slow} of {calls} took {policy.slow_call_seconds:g} s or more"
        return None


class CircuitBreaker:
    def __init__(
        self,
        dependency: str,
        policy: BreakerPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[State], None] | None = None,
        on_record: Callable[[bool, bool], None] | None = None,
    ) -> None:
        self.dependency = dependency
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._on_change = on_change  # (new state)
        self._on_record = on_record  # (failed, slow) of every call that ended
        self._state = State.CLOSED
        self._epoch = 0  # bumped by every transition: outcomes of older calls are ignored
        self._window = Window(self.policy.window)
        self._trial = Window(self.policy.half_open_calls)
        self._probes = 0  # permits handed out while half-open
        self._opened_at = 0.0
        self._why = ""

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> State:
        elapsed = self._clock() - self._opened_at
        if self._state is State.OPEN and elapsed >= self.policy.reset_seconds:
            self._move(State.HALF_OPEN)
        return self._state

    def _move(self, state: State, why: str = "") -> None:
        self._state = state
        self._epoch += 1
        self._window.clear()
        self._trial.clear()
        self._probes = 0
        if state is State.OPEN:
            self._opened_at = self._clock()
            self._why = why
            log_event(
                log,
                "circuit opened",
                logging.WARNING,
                dependency=self.dependency,
                reason=why,
                open_seconds=self.policy.reset_seconds,
            )
        else:
            log_event(log, f"circuit {state.value.replace('_', '-')}", dependency=self.dependency)
        if self._on_change is not None:
            self._on_change(state)

    def retry_after(self) -> float:
        """Seconds until the breaker lets a call through (0 when it does now)."""
        state = self.state
        if state is State.OPEN:
            return max(0.0, self.policy.reset_seconds - (self._clock() - self._opened_at))
        if state is State.HALF_OPEN and self._probes >= self.policy.half_open_calls:
            return 1.0  # the probes are out: their outcome decides soon
        return 0.0

    def rejection(self) -> ServiceError:
        retry = max(1.0, self.retry_after())
        if self._state is State.OPEN:
            why = f"circuit open: {self._why}"
        else:
            why = f"circuit half-open, its {self.policy.half_open_calls} probe calls in flight"
        return ServiceError(
            503,
            "circuit_open",
            f"{self.dependency} unavailable ({why}); retry in {round(retry)} s",
            dependency=self.dependency,
            retry_after=retry,
        )

    def snapshot(self) -> dict[str, Any]:
        state = self.state
        window = self._trial if state is State.HALF_OPEN else self._window
        total = len(window)
        return {
            "state": state.value,
            "calls": total,
            "failure_rate": round(window.failed / total, 4) if total else 0.0,
            "slow_call_rate": round(window.slow / total, 4) if total else 0.0,
            "retry_after_seconds": round(self.retry_after(), 3),
        }

    # -------------------------------------------------------------- outcomes

    def acquire(self) -> Permit | None:
        """A permit for one call, or None when the breaker refuses it (open, or half-open
        with every probe out). Hand the permit back through `record` or `release`."""
        state = self.state
        if state is State.OPEN:
            return None
        if state is State.HALF_OPEN:
            if self._probes >= self.policy.half_open_calls:
                return None
            self._probes += 1
        return self._epoch

    def check(self) -> None:
        """Raise the 503 at once when the breaker would refuse a call (no permit taken)."""
        state = self.state
        if state is State.OPEN or (
            state is State.HALF_OPEN and self._probes >= self.policy.half_open_calls
        ):
            raise self.rejection()

    def release(self, permit: Permit) -> None:
        """The call proved nothing (cancelled, or another dependency's fault): forget it."""
        if permit == self._epoch and self._state is State.HALF_OPEN:
            self._probes -= 1

    def record(self, permit: Permit, *, failed: bool, seconds: float) -> None:
        """The outcome of a call let through with `permit`, which took `seconds`."""
        slow = seconds >= self.policy.slow_call_seconds
        if self._on_record is not None:
            self._on_record(failed, slow)
        if permit != self._epoch:
            return  # let through before the last transition: it judged that state already
        if self._state is State.CLOSED:
            self._window.add(failed, slow)
            if len(self._window) >= self.policy.min_calls:
                total = len(self._window)
                why = self._window.why(self.policy, total, f"the last {total} calls")
                if why is not None:
                    self._move(State.OPEN, why)
        elif self._state is State.HALF_OPEN:
            self._trial.add(failed, slow)
            # Judged against every probe: open as soon as the rest could not save it.
            probes = self.policy.half_open_calls
            why = self._trial.why(self.policy, probes, f"{probes} probe calls")
            if why is not None:
                self._move(State.OPEN, why)
            elif len(self._trial) >= self.policy.half_open_calls:
                self._move(State.CLOSED)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """Run `fn` through the breaker; DependencyFailure counts as failed, a ServiceError
        that names another dependency proves nothing, any other ServiceError is an answer."""
        permit = self.acquire()
        if permit is None:
            raise self.rejection()
        started = self._clock()
        try:
            result = await fn()
        except DependencyFailure as exc:
            self.record(permit, failed=True, seconds=self._clock() - started)
            raise exc.error from None
        except ServiceError as exc:
            if exc.dependency not in (None, self.dependency):
                self.release(permit)
            else:
                self.record(permit, failed=False, seconds=self._clock() - started)
            raise
        except BaseException:
            self.release(permit)  # e.g. the client went away: proves nothing
            raise
        self.record(permit, failed=False, seconds=self._clock() - started)
        return result
