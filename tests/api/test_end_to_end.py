"""The whole path: sutra-api -> sutra-hybrid -> storage, all real processes on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sutra.common.testing import HttpService
from sutra.storage.testing import ServerProcess

from .support import assert_error, metric, run_api, run_hybrid

FACTS = [
    "Smoking causes lung cancer.",
    "Lung cancer causes chest pain.",
    "Paris is in France.",
    "Photosynthesis produces oxygen in green plants.",
    "The Pacific Ocean is the largest ocean on Earth.",
]


@pytest.fixture(scope="module")
def hybrid(storage: ServerProcess, logs: Path) -> Iterator[HttpService]:
    with run_hybrid(storage.address, logs) as service:
        yield service


@pytest.fixture(scope="module")
def api(storage: ServerProcess, hybrid: HttpService, logs: Path) -> Iterator[HttpService]:
    with run_api(storage.address, hybrid.url, logs) as service:
        yield service


@pytest.fixture(scope="module")
def http(api: HttpService) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api.url, timeout=30) as client:
        for fact in FACTS:
            reply = client.post("/learn", json={"content": fact, "source": "test"})
            assert reply.status_code == 201, reply.text
        yield client


def test_learn_answers_201_with_the_new_concept(http: httpx.Client) -> None:
    reply = http.post(
        "/learn", json={"content": "Rain causes floods.", "metadata": {"topic": "weather"}}
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert set(body) == {"concept_id", "message", "concepts_created", "associations_created"}
    assert len(body["concept_id"]) == 32 and body["associations_created"] >= 1
    concept = http.get(f"/concepts/{body['concept_id']}").json()
    assert concept["content"] == "Rain causes floods."
    neighbors = http.get(f"/concepts/{body['concept_id']}/neighbors").json()["neighbors"]
    assert neighbors, "the learned fact is linked to the concepts extracted from it"


def test_batch_learning(http: httpx.Client) -> None:
    items = [{"content": "Ice is frozen water."}, {"content": "Steam is hot water vapour."}]
    reply = http.post("/learn/batch", json={"items": items})
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert len(body["results"]) == 2 and body["concepts_created"] >= 2
    contents = {http.get(f"/concepts/{r['concept_id']}").json()["content"] for r in body["results"]}
    assert contents == {"Ice is frozen water.", "Steam is hot water vapour."}


def test_two_hop_question_answers_through_the_intermediate_concept(http: httpx.Client) -> None:
    reply = http.post("/reason", json={"query": "What does smoking cause?", "num_paths": 5})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["query"] == "What does smoking cause?"
    assert body["answer"] and 0 < body["confidence"] <= 1
    assert set(body["confidence_breakdown"]) == {"graph", "semantic", "final"}
    assert body["concepts_accessed"] > 0
    # smoking -> lung cancer -> chest pain: a path through the intermediate concept.
    two_hop = [
        p
        for p in body["paths"]
        if len(p["concepts"]) >= 3
        and "smoking" in p["concepts"][0].lower()
        and any("lung cancer" in c.lower() for c in p["concepts"][1:-1])
        and "chest pain" in p["concepts"][-1].lower()
    ]
    assert two_hop, body["paths"]
    path = two_hop[0]
    assert 0 < path["confidence"] <= 1 and path["explanation"]
    assert len(path["concept_ids"]) == len(path["concepts"])
    # One edge between each pair of concepts, with the stored association's own confidence.
    assert len(path["edges"]) == len(path["concepts"]) - 1
    assert all(e["type"] and 0 < e["confidence"] <= 1 for e in path["edges"])
    # The answer is the direct effect; chest pain is reached through it (the path above).
    assert body["answer"].lower() == "lung cancer"


def test_repeated_question_is_served_from_the_cache(http: httpx.Client) -> None:
    question = {"query": "Where is Paris?", "max_steps": 2}
    first = http.post("/reason", json=question)
    assert first.status_code == 200 and first.headers["x-cache"] == "miss"
    # Case and spacing do not make a new question.
    second = http.post("/reason", json={**question, "query": "  where is   PARIS? "})
    assert second.status_code == 200 and second.headers["x-cache"] == "hit"
    assert second.json()["answer"] == first.json()["answer"]
    assert second.json()["query"] == "  where is   PARIS? "
    # Learning something new invalidates cached answers.
    assert http.post("/learn", json={"content": "Paris is a city."}).status_code == 201
    third = http.post("/reason", json=question)
    assert third.headers["x-cache"] == "miss"
    text = http.get("/metrics").text
    assert metric(text, "sutra_api_cache_hits_total", backend="memory") >= 1
    assert metric(text, "sutra_api_cache_misses_total", backend="memory") >= 2


def test_semantic_search_ranks_the_relevant_fact_first(http: httpx.Client) -> None:
    reply = http.post("/semantic-search", json={"query": "which ocean is the largest", "top_k": 5})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["query"] == "which ocean is the largest"
    results = body["results"]
    assert results and "pacific ocean" in results[0]["content"].lower(), results
    similarities = [r["similarity"] for r in results]
    assert similarities == sorted(similarities, reverse=True)


def test_ready_when_both_dependencies_answer(http: httpx.Client) -> None:
    reply = http.get("/ready")
    assert reply.status_code == 200
    body = reply.json()
    assert body["status"] == "ready"
    assert body["dependencies"] == {"storage": "ok", "hybrid": "ok"}
    for name, limit in (("storage", 64), ("hybrid", 32)):
        report = body["breakers"][name]
        assert report["state"] == "closed" and report["bulkhead_limit"] == limit, report
        assert report["failure_rate"] == 0 and report["retry_after_seconds"] == 0, report


def test_validation_by_hybrid_limits_is_done_at_the_gateway(http: httpx.Client) -> None:
    assert_error(http.post("/reason", json={"query": "x" * 2001}), 422, field="query")
    assert_error(http.post("/learn", json={"content": "x" * 10_001}), 422, field="content")


def test_a_dependency_past_its_deadline_is_504_naming_it(
    storage: ServerProcess, hybrid: HttpService, logs: Path, http: httpx.Client
) -> None:
    # Reasoning takes milliseconds; a deadline of a tenth of one cannot be met.
    env = {"SUTRA_REASON_TIMEOUT": "0.0001", "SUTRA_BREAKER_MIN_CALLS": "20"}
    with (
        run_api(storage.address, hybrid.url, logs, env=env, ready_path="/health") as impatient,
        httpx.Client(base_url=impatient.url, timeout=30) as client,
    ):
        reply = client.post("/reason", json={"query": "What does smoking cause?"})
        error = assert_error(reply, 504, dependency="hybrid")
        # Either the gateway gave up waiting (within 0.0001 s) or hybrid, told it had 0 ms
        # (X-Sutra-Deadline-Ms), refused to start first: both are hybrid out of time.
        assert error["code"] == "deadline_exceeded" and "deadline" in error["message"]
        text = client.get("/metrics").text
        assert metric(text, "sutra_api_circuit_open", dependency="hybrid") == 0
