"""X-Sutra-Deadline-Ms: the caller's budget bounds hybrid's work and its storage calls."""

from __future__ import annotations

import time

import pytest

from tests.api.support import frozen
from tests.hybrid.conftest import Stack

HEADER = "X-Sutra-Deadline-Ms"
BUDGET_MS = 300
# Tests never assert tight wall-clock figures: 5x the budget, still far under the 5 s that
# a storage call waits without a deadline (SUTRA_HYBRID_STORAGE_TIMEOUT).
BOUND = 5 * BUDGET_MS / 1000


@pytest.fixture(scope="module", autouse=True)
def facts(stack: Stack) -> None:
    for text in ("Rain causes floods.", "Floods damage roads."):
        assert stack.http.post("/sutra/learn", json={"text": text}).status_code == 201


def test_a_frozen_storage_costs_the_callers_budget_not_the_storage_timeout(stack: Stack) -> None:
    timings = []
    with frozen(stack.storage.pid):
        for path, body in (
            ("/sutra/query", {"query": "What do floods damage?"}),
            ("/sutra/search", {"query": "floods"}),
            ("/sutra/learn", {"text": "Storms cause rain."}),
        ):
            started = time.monotonic()
            reply = stack.http.post(path, json=body, headers={HEADER: str(BUDGET_MS)})
            timings.append(time.monotonic() - started)
            assert reply.status_code == 504, (path, reply.text)
            error = reply.json()["error"]
            assert error["code"] == "deadline_exceeded" and error["dependency"] == "storage"
            assert "deadline" in error["message"] and "storage" in error["message"]
    assert max(timings) < BOUND, timings
    # Storage is back: the same question within the same budget is answered.
    reply = stack.http.post(
        "/sutra/query", json={"query": "What do floods damage?"}, headers={HEADER: "5000"}
    )
    assert reply.status_code == 200 and "road" in reply.json()["answer"].lower(), reply.text


def test_a_spent_budget_is_refused_at_once(stack: Stack) -> None:
    reply = stack.http.post(
        "/sutra/query", json={"query": "What causes floods?"}, headers={HEADER: "0"}
    )
    assert reply.status_code == 504, reply.text
    error = reply.json()["error"]
    assert error["code"] == "deadline_exceeded" and "deadline" in error["message"]
    assert "dependency" not in error  # hybrid's own: no storage call was made


@pytest.mark.parametrize("value", ["soon", "-5", "1.5", "1" * 10, ""])
def test_a_malformed_budget_is_a_clear_422(stack: Stack, value: str) -> None:
    reply = stack.http.post(
        "/sutra/query", json={"query": "What causes floods?"}, headers={HEADER: value}
    )
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["field"] == HEADER and "milliseconds" in error["message"]
