"""The routes served from storage alone, the error shape, limits and operations endpoints.

sutra-hybrid is deliberately absent here (its URL points at a closed port), which also
shows that /ready names it and that storage routes do not depend on it.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from sutra.common.testing import HttpService, dead_url
from sutra.storage.client import AssociationType, StorageClient
from sutra.storage.testing import ServerProcess

from .support import assert_error, metric, run_api

DIMENSION = 384


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIMENSION).astype(np.float32)
    return v / np.linalg.norm(v)


@pytest.fixture(scope="module")
def facts(storage: ServerProcess) -> dict[str, str]:
    with StorageClient(storage.address) as client:
        ids = {
            name: client.learn_concept(content, embedding=unit(seed)).concept_id
            for seed, (name, content) in enumerate(
                [("fire", "fire"), ("smoke", "smoke"), ("alarm", "smoke alarm")]
            )
        }
        client.learn_association(ids["fire"], ids["smoke"], AssociationType.CAUSAL, confidence=0.9)
        client.learn_association(
            ids["alarm"], ids["smoke"], AssociationType.SEMANTIC, confidence=0.7
        )
    return ids


@pytest.fixture(scope="module")
def api(storage: ServerProcess, logs: Path, facts: dict[str, str]) -> Iterator[HttpService]:
    with run_api(
        storage.address,
        dead_url(),
        logs,
        ready_path="/health",
        env={"SUTRA_MAX_BODY_BYTES": "64KiB"},
    ) as service:
        yield service


@pytest.fixture
def http(api: HttpService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=10) as client:
        yield client


def test_get_concept(http: httpx.Client, facts: dict[str, str]) -> None:
    reply = http.get(f"/concepts/{facts['fire']}")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["id"] == facts["fire"] and body["content"] == "fire"
    assert "embedding" not in body
    # Upper-case hex is the same id; the embedding comes on request.
    reply = http.get(f"/concepts/{facts['fire'].upper()}", params={"include_embedding": True})
    assert reply.status_code == 200
    assert np.allclose(reply.json()["embedding"], unit(0), atol=1e-6)


def test_lean_and_full_reads_answer_alike(http: httpx.Client, facts: dict[str, str]) -> None:
    """A plain read (sutra.api.lean) and the same read through FastAPI's handler (a query
    string the lean one does not know) give the same status, headers and bytes."""
    cid = facts["smoke"]
    labels = {"route": "/concepts/{concept_id}", "method": "GET", "status": "200"}
    before = metric(http.get("/metrics").text, "sutra_api_requests_total", **labels)
    for lean, full in (
        ("", "?include_embedding=False&unknown=1"),
        ("?include_embedding=false", "?include_embedding=0"),
        ("?include_embedding=true", "?include_embedding=True"),
    ):
        a, b = http.get(f"/concepts/{cid}{lean}"), http.get(f"/concepts/{cid.upper()}{full}")
        assert a.status_code == b.status_code == 200, (a.text, b.text)
        # Each read counts itself: the bytes are the same but for that count.
        count = re.compile(rb'"access_count":\d+')
        assert count.sub(b"", a.content) == count.sub(b"", b.content)
        assert b.json()["access_count"] == a.json()["access_count"] + 1
        varying = ("date", "content-length")
        assert {k: v for k, v in a.headers.items() if k not in varying} == {
            k: v for k, v in b.headers.items() if k not in varying
        }
    after = metric(http.get("/metrics").text, "sutra_api_requests_total", **labels)
    assert after - before == 6  # both kinds are counted
    wrong = http.get(f"/concepts/{cid}?include_embedding=maybe")
    assert_error(wrong, 422, field="include_embedding")
    assert_error(http.get(f"/concepts/{cid}%0A"), 422, field="concept_id")


def test_unknown_concept_is_404_and_a_bad_id_is_422(http: httpx.Client) -> None:
    error = assert_error(http.get("/concepts/" + "0" * 32), 404, field="concept_id")
    assert "0" * 32 in error["message"]
    for bad in ("xyz", "0" * 31, "g" * 32, "0" * 33):
        error = assert_error(http.get(f"/concepts/{bad}"), 422, field="concept_id")
        assert "32 hex" in error["message"]
    assert_error(http.get("/concepts/" + "0" * 32 + "/neighbors"), 404, field="concept_id")


def test_neighbors(http: httpx.Client, facts: dict[str, str]) -> None:
    reply = http.get(f"/concepts/{facts['smoke']}/neighbors")
    assert reply.status_code == 200, reply.text
    found = {(n["concept_id"], n["type"], n["direction"]) for n in reply.json()["neighbors"]}
    assert found == {
        (facts["fire"], "causal", "incoming"),
        (facts["alarm"], "semantic", "incoming"),
    }
    reply = http.get(
        f"/concepts/{facts['smoke']}/neighbors", params={"type": "causal", "direction": "incoming"}
    )
    assert [n["concept_id"] for n in reply.json()["neighbors"]] == [facts["fire"]]
    assert_error(
        http.get(f"/concepts/{facts['smoke']}/neighbors", params={"type": "friendly"}),
        422,
        field="type.0",
    )


def test_stats(http: httpx.Client) -> None:
    body = http.get("/stats").json()
    assert body["concepts"] >= 3 and body["associations"] >= 2 and body["dimension"] == DIMENSION


def test_vector_search(http: httpx.Client, facts: dict[str, str]) -> None:
    query = unit(1) + 0.1 * unit(99)
    reply = http.post("/search/vector", json={"vector": query.tolist(), "k": 2})
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert len(results) == 2 and results[0]["concept_id"] == facts["smoke"]
    assert results[0]["similarity"] > results[1]["similarity"]


def test_vector_of_the_wrong_dimension_is_422_naming_both_sizes(http: httpx.Client) -> None:
    error = assert_error(
        http.post("/search/vector", json={"vector": [0.5, 0.25, 0.125]}), 422, field="vector"
    )
    assert str(DIMENSION) in error["message"] and "3" in error["message"]
    zero = http.post("/search/vector", json={"vector": [0.0] * DIMENSION})
    assert zero.status_code == 200 and zero.json() == {"results": []}
    assert_error(
        http.post("/search/vector", json={"vector": unit(1).tolist(), "k": 0}), 422, field="k"
    )


def test_validation_errors_name_the_field(http: httpx.Client) -> None:
    assert_error(http.post("/learn", json={"content": ""}), 422, field="content")
    assert_error(http.post("/learn", json={"content": "   "}), 422, field="content")
    assert_error(http.post("/learn", json={}), 422, field="content")
    assert_error(http.post("/learn/batch", json={"items": []}), 422, field="items")
    assert_error(
        http.post("/learn/batch", json={"items": [{"content": "a"}, {"content": ""}]}),
        422,
        field="items.1.content",
    )
    assert_error(
        http.post("/reason", json={"query": "why", "max_steps": 7}), 422, field="max_steps"
    )
    assert_error(http.post("/semantic-search", json={"query": "x", "top_k": 0}), 422, field="top_k")
    reply = http.post("/learn", content=b"{not json", headers={"content-type": "application/json"})
    assert_error(reply, 422)
    assert_error(
        http.post("/reason", json={"query": "why", "threshold": False}), 422, field="threshold"
    )
    assert_error(
        http.post("/semantic-search", json={"query": "x", "top_k": "3"}), 422, field="top_k"
    )


def test_body_over_the_limit_is_413(http: httpx.Client) -> None:
    big = {"content": "x" * 70_000}
    error = assert_error(http.post("/learn", json=big), 413, field="body")
    assert "65536" in error["message"]

    # A chunked body (no Content-Length) is cut off at the limit as well.
    def chunks() -> Iterator[bytes]:
        yield b'{"content": "'
        for _ in range(100):
            yield b"y" * 1000
        yield b'"}'

    reply = http.post("/learn", content=chunks(), headers={"content-type": "application/json"})
    assert_error(reply, 413, field="body")


def test_hybrid_down_is_503_naming_it(http: httpx.Client) -> None:
    ready = http.get("/ready")  # still ready: reads, stats and cached answers go on
    assert ready.status_code == 200, ready.text
    assert ready.json()["degraded"] == ["hybrid"]
    assert ready.json()["dependencies"]["hybrid"] != "ok"
    assert_error(
        http.post("/learn", json={"content": "Water is wet."}),
        503,
        dependency="hybrid",
        retry_after=True,
    )
    # Storage still serves what needs only storage.
    assert http.get("/stats").status_code == 200


def test_health_metrics_and_docs(http: httpx.Client) -> None:
    health = http.get("/health").json()
    assert health["status"] == "ok" and health["version"] and health["uptime_seconds"] >= 0
    http.get("/concepts/" + "0" * 32)
    text = http.get("/metrics").text
    assert (
        metric(
            text,
            "sutra_api_requests_total",
            route="/concepts/{concept_id}",
            method="GET",
            status="404",
        )
        >= 1
    )
    assert "sutra_api_request_duration_seconds_bucket" in text
    assert metric(text, "sutra_api_circuit_open", dependency="storage") == 0
    assert http.get("/docs").status_code == 200


def test_every_request_body_has_an_example(http: httpx.Client) -> None:
    schema = http.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    bodies = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody")
            if body is None:
                continue
            bodies += 1
            if "application/json" in body["content"]:
                ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                assert components[ref].get("examples"), f"{method.upper()} {path}: no example"
                statuses = ("422", "429", "503")
            else:  # the NDJSON upload (/learn/jobs): bad lines are reported in the job, not 422
                (ndjson,) = body["content"].values()
                assert ndjson.get("example"), f"{method.upper()} {path}: no example"
                statuses = ("413", "415", "429", "503")
            for status in statuses:
                assert status in operation["responses"], f"{method.upper()} {path}: {status}"
    assert bodies == 6


def test_unknown_path_has_the_error_shape(http: httpx.Client) -> None:
    assert_error(http.get("/no/such/path"), 404)
    assert_error(http.delete("/learn"), 405)


def test_sigterm_stops_the_gateway_with_exit_code_0(storage: ServerProcess, logs: Path) -> None:
    with run_api(storage.address, dead_url(), logs, ready_path="/health") as api:
        assert httpx.get(f"{api.url}/health").status_code == 200
        assert api.terminate() == 0
    assert '"stopped"' in api.log()


def test_a_port_in_use_is_one_line_and_exit_code_2() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "sutra.api"],
            env={**os.environ, "SUTRA_API_HOST": "127.0.0.1", "SUTRA_API_PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"sutra-api: cannot listen on 127.0.0.1:{port}"), line
