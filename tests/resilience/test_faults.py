"""Each fault of the bench (sutra.stack.faults) under `sutra up` and steady load, asserted.

A frozen hybrid, the breaker opening and closing on it, and the bulkhead are asserted against
a standalone API in tests/api/test_frozen_dependency.py; here is what needs the whole
supervised stack: a slow network to hybrid (through the latency proxy), a frozen storage with
writes in flight, and killed members that `sutra up` restarts. Bounds are 5x the route budgets;
counts and states, never tight wall-clock figures.
"""

from __future__ import annotations

import httpx
import pytest

from sutra.common.testing import poll
from sutra.stack.faults import FaultStack, Load, PhaseResult, lost_writes, run_phase
from tests.api.support import metric

from .conftest import FAULT_SECONDS


def assert_within_budgets(result: PhaseResult) -> None:
    """Every request started during the fault got an HTTP answer, in 5x its budget at most."""
    assert result.calls, "no request started during the fault"
    assert 0 not in result.statuses, f"requests without an answer: {result.statuses}"
    assert set(result.statuses) <= {200, 201, 404, 503, 504}, result.statuses
    slowest = max(result.calls, key=lambda c: c.seconds / result.budgets[c.kind])
    assert slowest.seconds < 5 * result.budgets[slowest.kind], slowest


def assert_recovered(result: PhaseResult) -> None:
    """Every kind of request got a real answer again after the fault."""
    missing = [kind for kind, seconds in result.recovery.items() if seconds is None]
    assert not missing, f"no real answer after the fault for {missing}"


def breaker_opened(stack: FaultStack, dependency: str, before: str) -> float:
    after = httpx.get(f"{stack.api}/metrics", timeout=10).text
    labels = {"dependency": dependency, "state": "open"}
    name = "sutra_api_circuit_transitions_total"
    return metric(after, name, **labels) - metric(before, name, **labels)


def breaker_closed(stack: FaultStack, dependency: str) -> None:
    def closed() -> bool:
        reply = httpx.get(f"{stack.api}/ready", timeout=10)
        return reply.status_code == 200 and (
            reply.json()["breakers"][dependency]["state"] == "closed"
        )

    poll(closed, timeout=30, interval=0.2, what=f"the {dependency} breaker closed again")


def test_a_slow_network_to_hybrid_opens_its_breaker_and_reads_go_on(
    stack: FaultStack, load: Load
) -> None:
    before = httpx.get(f"{stack.api}/metrics", timeout=10).text
    result = run_phase(stack, load, "slow-hybrid", FAULT_SECONDS)
    assert_within_budgets(result)
    # Replies 1.5 s late are slow calls (over SUTRA_HYBRID_SLOW_CALL_SECONDS, 1 s), not
    # failures: the slow-call rate opens the breaker although every call succeeded. (How many
    # delayed calls end as 200 before it opens depends on timing; the counter does not.)
    after = httpx.get(f"{stack.api}/metrics", timeout=10).text
    slow_calls = "sutra_api_dependency_slow_calls_total"
    delayed = metric(after, slow_calls, dependency="hybrid") - metric(
        before, slow_calls, dependency="hybrid"
    )
    assert delayed >= 1, "the proxy delayed nothing"
    assert breaker_opened(stack, "hybrid", before) >= 1
    reads = result.of("read")
    assert reads and {c.status for c in reads} == {200}, "reads do not go through hybrid"
    assert_recovered(result)
    breaker_closed(stack, "hybrid")


def test_a_frozen_storage_costs_each_request_its_budget_and_loses_no_write(
    stack: FaultStack, load: Load
) -> None:
    result = run_phase(stack, load, "freeze-storage", FAULT_SECONDS)
    assert_within_budgets(result)
    assert 504 in result.statuses, result.statuses  # cut at the deadline, naming storage
    assert_recovered(result)
    written = list(load.written)
    assert lost_writes(stack.api, written) == []


@pytest.mark.parametrize("target", ["hybrid", "storage"])
def test_a_killed_member_is_restarted_and_the_api_answers_meanwhile(
    stack: FaultStack, load: Load, target: str
) -> None:
    name = {"hybrid": "sutra-hybrid", "storage": "storage-server"}[target]
    restarts = stack.up.member(name)["restarts"]
    result = run_phase(stack, load, f"kill-{target}", FAULT_SECONDS)
    said = [line.split(" | ")[-1] for line in result.restarts]
    assert said == [f"exited with code -9; restart {restarts + 1} in 1 s"], result.restarts
    assert stack.up.member(name)["state"] == "ready"
    # The API stayed up: every request was answered, refused at once with 503 + Retry-After
    # or, for a question answered before, from the cache (marked degraded).
    assert_within_budgets(result)
    assert 503 in result.statuses, result.statuses
    reasons = result.of("reason")
    assert any(c.status == 200 for c in reasons), "no cached answer while it was down"
    assert_recovered(result)
    if target == "storage":
        written = list(load.written)
        assert len(written) > 10
        assert lost_writes(stack.api, written) == []
