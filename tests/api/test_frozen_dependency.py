"""A dependency that hangs (SIGSTOP) costs each request its budget at most, then nothing.

Real processes: storage, sutra-hybrid and sutra-api on free ports. Hybrid or storage is
frozen under concurrent /reason load; requests end within their route budget (asserted with
5x the budget: tests never assert tight wall-clock figures), the breaker opens and refuses
at once, cached questions are still answered (marked degraded), storage routes keep working,
the bulkhead refuses the excess at once, and after SIGCONT the breaker half-opens and closes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sutra.common.testing import HttpService
from sutra.storage.testing import ServerProcess

from .support import assert_error, frozen, metric, poll, run_api, run_hybrid

BUDGET = 0.5  # SUTRA_BUDGET_REASON_SECONDS here
BOUND = 5 * BUDGET
FREEZE = 3.0  # longer than BOUND: a request that waited for the freeze to end would show
CLIENTS = 8
FAST_BREAKER = {
    "SUTRA_BUDGET_REASON_SECONDS": str(BUDGET),
    "SUTRA_BREAKER_WINDOW_CALLS": "10",
    "SUTRA_BREAKER_MIN_CALLS": "5",
    "SUTRA_BREAKER_RESET_SECONDS": "1.5",
    "SUTRA_BREAKER_HALF_OPEN_CALLS": "2",
    "SUTRA_READY_TIMEOUT": "0.3",
}


@pytest.fixture(scope="module")
def hybrid(storage: ServerProcess, logs: Path) -> Iterator[HttpService]:
    with run_hybrid(storage.address, logs) as service:
        yield service


@pytest.fixture(scope="module")
def api(storage: ServerProcess, hybrid: HttpService, logs: Path) -> Iterator[HttpService]:
    with run_api(storage.address, hybrid.url, logs, env=FAST_BREAKER) as service:
        yield service


@pytest.fixture(scope="module")
def concept_id(api: HttpService) -> str:
    with httpx.Client(base_url=api.url, timeout=30) as http:
        ids = []
        for fact in ("Heat causes expansion.", "Expansion cracks glass.", "Cold causes frost."):
            reply = http.post("/learn", json={"content": fact})
            assert reply.status_code == 201, reply.text
            ids.append(reply.json()["concept_id"])
        return ids[0]


@dataclass
class Call:
    started: float
    ended: float
    status: int


class Load:
    """CLIENTS threads, each asking distinct /reason questions until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.calls: list[Call] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(k,)) for k in range(CLIENTS)]

    def _client(self, k: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            n = 0
            while not self.stop.is_set():
                n += 1
                started = time.monotonic()
                reply = http.post("/reason", json={"query": f"What does heat {k}-{n} cause?"})
                self.calls.append(Call(started, time.monotonic(), reply.status_code))
                if reply.status_code == 503:
                    self.stop.wait(0.05)  # a polite client; keeps the two CPUs for the servers

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def test_a_frozen_hybrid_costs_a_budget_then_the_breaker_answers_at_once(
    api: HttpService, hybrid: HttpService, concept_id: str
) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as http:
        known = {"query": "What does heat cause?"}
        assert http.post("/reason", json=known).headers["x-cache"] == "miss"
        # Something new is learned: the cached answer is stale from now on.
        assert http.post("/learn", json={"content": "Frost kills plants."}).status_code == 201
        for i in range(5):  # the breaker's window starts full of successes
            assert (
                http.post("/reason", json={"query": f"What cracks glass, {i}?"}).status_code == 200
            )

        with Load(api.url) as load:
            poll(lambda: len(load.calls) >= CLIENTS, timeout=10, what="the load running")
            freeze_started = time.monotonic()
            with frozen(hybrid.pid):
                poll(
                    lambda: (
                        metric(
                            http.get("/metrics").text,
                            "sutra_api_circuit_transitions_total",
                            dependency="hybrid",
                            state="open",
                        )
                        >= 1
                    ),
                    timeout=BOUND + 2,
                    what="the hybrid breaker opening",
                )
                # Storage routes do not need hybrid.
                assert http.get("/stats").status_code == 200
                assert http.get(f"/concepts/{concept_id}").status_code == 200
                # A question answered before is answered from the cache, marked.
                degraded = http.post("/reason", json=known)
                assert degraded.status_code == 200, degraded.text
                assert degraded.headers["x-sutra-degraded"] == "hybrid"
                assert degraded.headers["x-cache"] == "stale"
                assert "expansion" in degraded.json()["answer"].lower()
                # A new one names hybrid, with Retry-After.
                refused = http.post("/reason", json={"query": "What does cold cause?"})
                assert_error(refused, 503, dependency="hybrid", retry_after=True)
                # Still ready: this pod serves reads and cached answers meanwhile.
                degraded_ready = http.get("/ready")
                assert degraded_ready.status_code == 200, degraded_ready.text
                assert degraded_ready.json()["degraded"] == ["hybrid"]
                time.sleep(max(0.0, freeze_started + FREEZE - time.monotonic()))  # the freeze
                still_frozen = time.monotonic()
            freeze_ended = time.monotonic()

        during = [c for c in load.calls if c.started < freeze_ended and c.ended > freeze_started]
        slowest = max(c.ended - c.started for c in during)
        assert slowest < BOUND, f"a request took {slowest:.2f} s during the freeze"
        statuses = {c.status for c in during}
        assert statuses <= {200, 503, 504}, statuses
        assert 504 in statuses and 503 in statuses  # cut by the deadline, then refused
        # Answered while hybrid was still frozen: many rounds, not one per client.
        assert sum(c.ended < still_frozen for c in during) > 3 * CLIENTS

        # Continued: the breaker half-opens, its probes succeed, it closes.
        # Each /ready is a probe too (one at a time), so polling it is enough to close it.
        def closed() -> dict | None:
            reply = http.get("/ready")
            report = reply.json()["breakers"]["hybrid"] if reply.status_code == 200 else {}
            return report if report.get("state") == "closed" else None

        report = poll(closed, timeout=15, what="the hybrid breaker closed after SIGCONT")
        assert report["in_flight"] == 0 and report["bulkhead_limit"] == 32, report
        text = http.get("/metrics").text
        for state in ("half_open", "closed"):
            assert (
                metric(
                    text, "sutra_api_circuit_transitions_total", dependency="hybrid", state=state
                )
                >= 1
            ), state
        assert metric(text, "sutra_api_circuit_open", dependency="hybrid") == 0
        assert metric(
            text, "sutra_api_dependency_rejected_total", dependency="hybrid", reason="open"
        )
        assert metric(text, "sutra_api_degraded_answers_total", dependency="hybrid") >= 1
        assert http.post("/reason", json={"query": "What does cold cause?"}).status_code == 200


def test_the_bulkhead_refuses_the_excess_at_once(
    storage: ServerProcess, hybrid: HttpService, logs: Path
) -> None:
    env = {
        "SUTRA_BULKHEAD_HYBRID": "2",
        "SUTRA_BUDGET_REASON_SECONDS": "1.5",
        "SUTRA_BREAKER_MIN_CALLS": "20",  # the breaker stays out of this
    }
    with run_api(storage.address, hybrid.url, logs, env=env) as api:
        barrier = threading.Barrier(CLIENTS)

        def ask(k: int) -> tuple[float, httpx.Response]:
            with httpx.Client(base_url=api.url, timeout=30) as http:
                barrier.wait()
                started = time.monotonic()
                reply = http.post("/reason", json={"query": f"What does frost {k} kill?"})
                return time.monotonic() - started, reply

        with frozen(hybrid.pid), ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(ask, range(CLIENTS)))
        refused = [(t, r) for t, r in results if r.status_code == 503]
        held = [(t, r) for t, r in results if r.status_code != 503]
        for _, reply in refused:
            assert assert_error(reply, 503, dependency="hybrid", retry_after=True)["code"] == (
                "bulkhead_full"
            )
        assert len(refused) == CLIENTS - 2 and len(held) == 2, [r.status_code for _, r in results]
        for _, reply in held:  # cut by their deadline, naming hybrid
            assert assert_error(reply, 504, dependency="hybrid")["code"] == "deadline_exceeded"
        # Refused at once: before either held call's deadline came.
        assert max(t for t, _ in refused) < min(t for t, _ in held) <= 5 * 1.5
        text = httpx.get(f"{api.url}/metrics").text
        assert (
            metric(
                text, "sutra_api_dependency_rejected_total", dependency="hybrid", reason="bulkhead"
            )
            == CLIENTS - 2
        )


def test_a_frozen_storage_is_named_and_hybrid_is_not_blamed(
    storage: ServerProcess, api: HttpService, hybrid: HttpService
) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as http:
        poll(lambda: http.get("/ready").status_code == 200, timeout=15, what="ready")
        before = http.get("/metrics").text
        with frozen(storage.pid):
            started = time.monotonic()
            reply = http.post("/reason", json={"query": "What does frost kill, truly?"})
            took = time.monotonic() - started
            error = assert_error(reply, 504, dependency="storage")
            assert error["code"] == "deadline_exceeded" and "deadline" in error["message"]
            assert took < BOUND, took  # hybrid's storage call had the request's deadline
            stats = http.get("/stats")  # straight to storage, within the read budget
            assert_error(stats, 504, dependency="storage")
        after = http.get("/metrics").text
        labels = {"dependency": "hybrid", "outcome": "failure"}
        assert metric(after, "sutra_api_dependency_calls_total", **labels) == metric(
            before, "sutra_api_dependency_calls_total", **labels
        )
        assert metric(
            after, "sutra_api_dependency_calls_total", dependency="storage", outcome="failure"
        )
