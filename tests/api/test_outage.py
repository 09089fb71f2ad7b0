"""Storage dies and comes back: readiness, fast failure through the breaker, recovery."""

from __future__ import annotations

from pathlib import Path

import httpx

from sutra.storage.testing import free_port, run_server

from .support import assert_error, metric, poll, run_api, run_hybrid

# Open after two failures in a row (both of the last two calls), one probe when half-open.
BREAKER = {
    "SUTRA_BREAKER_WINDOW_CALLS": "2",
    "SUTRA_BREAKER_MIN_CALLS": "2",
    "SUTRA_BREAKER_FAILURE_RATE": "1",
    "SUTRA_BREAKER_RESET_SECONDS": "1",
    "SUTRA_BREAKER_HALF_OPEN_CALLS": "1",
}


def test_storage_outage_and_recovery(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    with (
        run_server(data, port=port) as storage,
        run_hybrid(storage.address, tmp_path) as hybrid,
        run_api(storage.address, hybrid.url, tmp_path, env=BREAKER) as api,
        httpx.Client(base_url=api.url, timeout=30) as http,
    ):
        learned = http.post("/learn", json={"content": "Lightning causes thunder."})
        assert learned.status_code == 201, learned.text
        concept_id = learned.json()["concept_id"]
        assert http.get("/ready").status_code == 200

        storage.kill()

        # Readiness turns 503 naming storage within 2 s (a bounded poll, not a sleep).
        not_ready = poll(
            lambda: (r := http.get("/ready")).status_code == 503 and r,
            timeout=2.0,
            what="/ready answering 503",
        )
        assert_error(not_ready, 503, dependency="storage", retry_after=True)
        assert "hybrid" not in not_ready.json()["error"]["dependency"]

        # /reason fails with 503 naming storage; once the breaker is open it does not even
        # call hybrid (the refusal is the breaker's own: code circuit_open).
        codes = []
        for i in range(6):
            reply = http.post("/reason", json={"query": f"What causes thunder, take {i}?"})
            codes.append(assert_error(reply, 503, dependency="storage", retry_after=True)["code"])
        assert "circuit_open" in codes, codes
        concept = http.get(f"/concepts/{concept_id}")
        assert_error(concept, 503, dependency="storage", retry_after=True)
        text = http.get("/metrics").text
        assert metric(text, "sutra_api_circuit_open", dependency="storage") == 1
        # Liveness is not readiness: the gateway itself is fine.
        assert http.get("/health").status_code == 200

        # The same data directory on the same port: everything comes back.
        with run_server(data, port=port):
            poll(lambda: http.get("/ready").status_code == 200, timeout=30, what="ready again")
            answer = poll(
                lambda: (
                    (r := http.post("/reason", json={"query": "What causes thunder?"})).status_code
                    == 200
                    and r
                ),
                timeout=30,
                what="/reason answering 200",
            )
            assert answer.json()["answer"] == "lightning"
            assert http.get(f"/concepts/{concept_id}").status_code == 200
            text = http.get("/metrics").text
            assert metric(text, "sutra_api_circuit_open", dependency="storage") == 0
