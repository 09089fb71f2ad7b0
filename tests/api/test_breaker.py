"""The breaker's window, the bulkhead, request deadlines and stale answers, on their own,
with a clock that moves only when a test says so."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
import pytest
from prometheus_client import generate_latest

from sutra.api.breaker import BreakerPolicy, CircuitBreaker, DependencyFailure, State
from sutra.api.cache import MemoryCache
from sutra.api.deadline import Deadline, propagated_ms
from sutra.api.guard import Guard
from sutra.api.hybrid_client import HybridClient
from sutra.api.metrics import ApiMetrics
from sutra.common.http import ServiceError

from .support import metric

POLICY = BreakerPolicy(
    window=10,
    min_calls=5,
    failure_rate=0.5,
    slow_call_rate=0.5,
    slow_call_seconds=1.0,
    reset_seconds=5.0,
    half_open_calls=3,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, **changes: float) -> CircuitBreaker:
    policy = BreakerPolicy(**{**POLICY.__dict__, **changes})
    return CircuitBreaker("hybrid", policy, clock=clock)


def outcome(
    clock: Clock, *, fails: bool = False, takes: float = 0.01
) -> Callable[[], Awaitable[str]]:
    """A call that takes `takes` seconds of the test's clock, then fails or answers."""

    async def call() -> str:
        clock.now += takes
        if fails:
            raise DependencyFailure(
                ServiceError(503, "unavailable", "hybrid: down", dependency="hybrid")
            )
        return "ok"

    return call


def run(b: CircuitBreaker, call: Callable[[], Awaitable[str]]) -> str:
    """The call through the breaker: its answer, or the error code the client would see."""
    try:
        return asyncio.run(b.call(call))
    except ServiceError as exc:
        return exc.code


def test_failures_open_it_only_once_min_calls_are_recorded() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(4):
        assert run(b, outcome(clock, fails=True)) == "unavailable"
    assert b.state is State.CLOSED  # 4 of 4 failed, but 5 calls are needed to judge
    assert run(b, outcome(clock)) == "ok"
    assert b.state is State.OPEN  # 4 of 5
    calls = 0

    async def counted() -> str:
        nonlocal calls
        calls += 1
        return "ok"

    assert run(b, counted) == "circuit_open" and calls == 0  # refused without calling
    with pytest.raises(ServiceError) as refused:
        b.check()
    error = refused.value
    assert (error.status, error.dependency, error.retry_after) == (503, "hybrid", 5.0)
    assert "4 of the last 5 calls failed" in error.message and error.message.startswith(
        "hybrid unavailable"
    )


def test_a_failure_rate_under_the_threshold_keeps_it_closed_and_the_window_slides() -> None:
    clock = Clock()
    b = breaker(clock)
    for i in range(40):  # every third call fails: 33 %, under 50 %
        run(b, outcome(clock, fails=i % 3 == 0))
    assert b.state is State.CLOSED
    for _ in range(10):
        run(b, outcome(clock))  # the window is all successes now
    for _ in range(4):
        run(b, outcome(clock, fails=True))
    assert b.state is State.CLOSED  # 4 of the last 10
    run(b, outcome(clock, fails=True))
    assert b.state is State.OPEN  # 5 of the last 10


def test_slow_successes_open_it() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(3):
        assert run(b, outcome(clock)) == "ok"
    for _ in range(2):
        assert run(b, outcome(clock, takes=0.99)) == "ok"
    assert b.state is State.CLOSED  # 0.99 s is under the slow-call time
    for _ in range(3):
        assert run(b, outcome(clock, takes=1.5)) == "ok"
    assert b.state is State.CLOSED  # 3 of 8 slow
    assert run(b, outcome(clock, takes=1.0)) == "ok"  # the slow-call time itself is slow
    assert b.state is State.CLOSED  # 4 of 9
    assert run(b, outcome(clock, takes=3.0)) == "ok"
    assert b.state is State.OPEN  # 5 of 10, every one a success
    assert "5 of the last 10 calls took 1 s or more" in b.rejection().message


def test_slow_call_rate_is_judged_like_the_failure_rate() -> None:
    clock = Clock()
    b = breaker(clock, slow_call_rate=0.4)
    for _ in range(3):
        run(b, outcome(clock))
    for _ in range(2):
        run(b, outcome(clock, takes=2.0))
    assert b.state is State.OPEN  # 2 of 5 slow = 40 %
    assert "2 of the last 5 calls took 1 s or more" in b.rejection().message


def test_half_open_lets_n_probes_through_and_their_outcome_decides() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(5):
        run(b, outcome(clock, fails=True))
    assert b.state is State.OPEN
    clock.now += 4.9
    assert b.state is State.OPEN and b.retry_after() == pytest.approx(0.1)
    clock.now += 0.1
    assert b.state is State.HALF_OPEN
    permits = [b.acquire() for _ in range(3)]
    assert None not in permits
    assert b.acquire() is None  # three probes out: the next waits for their outcome
    with pytest.raises(ServiceError) as refused:
        b.check()
    assert "half-open" in refused.value.message and refused.value.retry_after == 1.0
    for permit in permits[:2]:
        b.record(permit, failed=False, seconds=0.01)  # type: ignore[arg-type]
    assert b.state is State.HALF_OPEN
    b.record(permits[2], failed=False, seconds=0.01)  # type: ignore[arg-type]
    assert b.state is State.CLOSED


def test_failed_probes_open_it_again_without_waiting_for_the_rest() -> None:
    clock = Clock()
    b = breaker(clock)
    for _ in range(5):
        run(b, outcome(clock, fails=True))
    clock.now += 5
    permits = [b.acquire() for _ in range(3)]
    b.record(permits[0], failed=True, seconds=0.01)  # type: ignore[arg-type]
    assert b.state is State.HALF_OPEN  # 1 of 3 could still pass
    b.record(permits[1], failed=False, seconds=3.0)  # type: ignore[arg-type]
    assert b.state is State.HALF_OPEN
    b.record(permits[2], failed=True, seconds=0.01)  # type: ignore[arg-type]
    assert b.state is State.OPEN and b.retry_after() == 5.0
    assert "2 of 3 probe calls failed" in b.rejection().message


def test_outcomes_that_prove_nothing_are_not_recorded() -> None:
    clock = Clock()
    b = breaker(clock)

    async def not_found() -> str:
        raise ServiceError(404, "not_found", "concept x does not exist")

    async def blames_storage() -> str:
        raise ServiceError(503, "unavailable", "storage: down", dependency="storage")

    async def cancelled() -> str:
        raise asyncio.CancelledError

    for _ in range(10):
        assert run(b, not_found) == "not_found"  # an answer: a success
        assert run(b, blames_storage) == "unavailable"  # another dependency's fault
        with pytest.raises(asyncio.CancelledError):
            asyncio.run(b.call(cancelled))
    assert b.snapshot() == {
        "state": "closed",
        "calls": 10,
        "failure_rate": 0.0,
        "slow_call_rate": 0.0,
        "retry_after_seconds": 0.0,
    }
    # A probe that proves nothing hands its permit back.
    for _ in range(5):
        run(b, outcome(clock, fails=True))
    clock.now += 5
    permits = [b.acquire() for _ in range(3)]
    b.release(permits[0])  # type: ignore[arg-type]
    assert b.acquire() is not None and b.acquire() is None


def test_a_call_let_through_before_a_transition_does_not_judge_the_new_state() -> None:
    clock = Clock()
    b = breaker(clock)
    early = b.acquire()
    for _ in range(5):
        run(b, outcome(clock, fails=True))
    clock.now += 5
    assert b.state is State.HALF_OPEN
    b.record(early, failed=False, seconds=0.01)  # type: ignore[arg-type]
    assert b.snapshot()["calls"] == 0  # the probes decide, not a call from before


def test_bad_policies_are_refused() -> None:
    for bad in (
        {"min_calls": 11},
        {"failure_rate": 0},
        {"slow_call_rate": 1.5},
        {"half_open_calls": 0},
    ):
        with pytest.raises(ValueError):
            BreakerPolicy(**{**POLICY.__dict__, **bad})


def test_the_bulkhead_refuses_at_once_and_the_metrics_say_why() -> None:
    metrics = ApiMetrics()
    clock = Clock()
    guard = Guard("hybrid", POLICY, 2, metrics, clock=clock)
    metrics.watch([guard])

    async def scenario() -> list[str]:
        release = asyncio.Event()

        async def hangs() -> str:
            await release.wait()
            return "ok"

        held = [asyncio.ensure_future(guard.call(hangs)) for _ in range(2)]
        await asyncio.sleep(0)
        assert guard.report()["in_flight"] == 2
        codes = []
        for _ in range(3):
            try:
                await guard.call(hangs)
            except ServiceError as exc:
                assert exc.status == 503 and exc.retry_after == 1.0 and exc.dependency == "hybrid"
                codes.append(exc.code)
        page = generate_latest(metrics.registry).decode()
        assert metric(page, "sutra_api_bulkhead_in_flight", dependency="hybrid") == 2
        release.set()
        assert await asyncio.gather(*held) == ["ok", "ok"]
        assert await guard.call(hangs) == "ok"  # room again
        assert guard.report()["in_flight"] == 0
        return codes

    assert asyncio.run(scenario()) == ["bulkhead_full"] * 3
    page = generate_latest(metrics.registry).decode()
    assert (
        metric(page, "sutra_api_dependency_rejected_total", dependency="hybrid", reason="bulkhead")
        == 3
    )
    assert metric(page, "sutra_api_bulkhead_limit", dependency="hybrid") == 2
    assert metric(page, "sutra_api_circuit_open", dependency="hybrid") == 0

    # Open, the breaker answers first; its state shows in the gauges.
    while guard.breaker.state is State.CLOSED:
        with pytest.raises(ServiceError):
            asyncio.run(guard.call(outcome(clock, fails=True)))
    with pytest.raises(ServiceError) as refused:
        asyncio.run(guard.call(outcome(clock)))
    assert refused.value.code == "circuit_open"
    page = generate_latest(metrics.registry).decode()
    assert metric(page, "sutra_api_circuit_open", dependency="hybrid") == 1
    assert metric(page, "sutra_api_circuit_state", dependency="hybrid", state="open") == 1
    assert (
        metric(page, "sutra_api_dependency_rejected_total", dependency="hybrid", reason="open") == 1
    )
    assert (
        metric(page, "sutra_api_circuit_transitions_total", dependency="hybrid", state="open") == 1
    )
    clock.now += 5  # half-open by the clock alone: the scrape sees it
    page = generate_latest(metrics.registry).decode()
    assert metric(page, "sutra_api_circuit_state", dependency="hybrid", state="half_open") == 1


def test_slow_calls_are_counted() -> None:
    metrics = ApiMetrics()
    clock = Clock()
    guard = Guard("storage", POLICY, 8, metrics, clock=clock)
    asyncio.run(guard.call(outcome(clock, takes=1.2)))
    asyncio.run(guard.call(outcome(clock, takes=0.2)))
    page = generate_latest(metrics.registry).decode()
    assert metric(page, "sutra_api_dependency_slow_calls_total", dependency="storage") == 1
    assert (
        metric(page, "sutra_api_dependency_calls_total", dependency="storage", outcome="success")
        == 2
    )


def test_a_deadline_gives_each_call_what_is_left_and_then_504() -> None:
    clock = Clock()
    deadline = Deadline(2.0, group="reason", clock=clock)
    # The budget less 20 ms to write the answer, so a cut request is answered within 2 s.
    assert deadline.timeout(15.0, "hybrid") == pytest.approx(1.98)  # tighter than the cap
    assert deadline.timeout(0.5, "hybrid") == 0.5  # the cap is tighter than the budget
    clock.now += 1.5
    assert deadline.timeout(15.0, "hybrid") == pytest.approx(0.48)
    assert Deadline(0.2, clock=clock).timeout(15.0, "storage") == pytest.approx(0.19)  # 5 %
    clock.now += 0.48
    with pytest.raises(ServiceError) as spent:
        deadline.timeout(15.0, "hybrid")
    error = spent.value
    assert (error.status, error.code, error.dependency) == (504, "deadline_exceeded", "hybrid")
    assert "deadline" in error.message and "2 s budget of this reason request" in error.message
    # Hybrid is told a little less than the gateway waits, so its own 504 comes back first.
    assert propagated_ms(2.0) == 1900 and propagated_ms(0.5) == 450 and propagated_ms(0.0) == 0


def test_stale_answers_outlive_freshness_for_the_stale_time_only() -> None:
    clock = Clock()
    cache = MemoryCache(ttl_seconds=10, max_entries=10, stale_seconds=100, clock=clock)
    never = MemoryCache(ttl_seconds=10, max_entries=10, clock=clock)

    async def scenario() -> None:
        for c in (cache, never):
            _, generation = await c.lookup("q")
            await c.store("q", {"answer": "a"}, generation)
            await c.invalidate()  # something was learned
            assert (await c.lookup("q"))[0] is None
        assert await cache.stale("q") == {"answer": "a"}
        assert await never.stale("q") is None  # no stale time: never served stale
        clock.now += 109
        assert await cache.stale("q") == {"answer": "a"}
        clock.now += 1
        assert await cache.stale("q") is None

    asyncio.run(scenario())


def test_hybrid_504_blames_storage_only_when_hybrid_says_so() -> None:
    client = HybridClient("http://hybrid:8001", timeout=1)

    def answer(**error: object) -> Exception:
        body = {"error": {"status": 504, "code": "deadline_exceeded", "message": "m", **error}}
        return client._error(httpx.Response(504, json=body), "/sutra/query")

    storage = answer(dependency="storage", message="deadline exceeded: storage did not answer")
    assert isinstance(storage, ServiceError)
    assert (storage.status, storage.dependency) == (504, "storage")
    own = answer(message="deadline exceeded: the request's deadline passed")
    assert isinstance(own, DependencyFailure)
    assert (own.error.status, own.error.dependency, own.error.code) == (
        504,
        "hybrid",
        "deadline_exceeded",
    )
    asyncio.run(client.close())
