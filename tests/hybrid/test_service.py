"""sutra-hybrid over HTTP against a real storage server: learning, reasoning, search."""

from __future__ import annotations

import re

import pytest

from sutra.hybrid.extraction import normalise_entity
from sutra.storage.client import AssociationType, Direction
from sutra.storage.ids import concept_id_for
from tests.hybrid.conftest import Stack

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def learn(stack: Stack, text: str) -> dict:
    response = stack.http.post("/sutra/learn", json={"text": text})
    assert response.status_code == 201, response.text
    return response.json()


def entity(name: str) -> str:
    return concept_id_for(normalise_entity(name))


def test_liveness_ping_and_readiness(stack: Stack) -> None:
    health = stack.http.get("/health").json()
    assert health["status"] == "ok" and health["version"] and health["uptime_seconds"] >= 0
    assert stack.http.get("/ping").json() == {"status": "ok"}
    ready = stack.http.get("/ready")
    assert ready.status_code == 200, ready.text


def test_learn_stores_statement_entities_and_typed_edges(stack: Stack) -> None:
    body = learn(stack, "Volcanic eruptions cause acid rain.")
    statement = concept_id_for("Volcanic eruptions cause acid rain.")
    cause, effect = entity("volcanic eruptions"), entity("acid rain")
    assert body["concept_id"] == statement
    assert set(body["concept_ids"]) == {statement, cause, effect}
    assert body["concepts_created"] == 3 and body["associations_created"] == 3
    assert all(HEX32.match(i) for i in body["concept_ids"])
    assert {
        "source_id": cause,
        "target_id": effect,
        "type": "causal",
        "confidence": 0.8,
    } in body["associations"]

    stored = stack.store.get_concept(effect)
    assert stored is not None and stored.content == "acid rain"
    assert stored.embedding is not None and stored.embedding.shape == (384,)
    out = stack.store.get_neighbors(cause, direction=Direction.OUTGOING)
    assert [(n.concept_id, n.type, n.confidence) for n in out] == [
        (effect, AssociationType.CAUSAL, pytest.approx(0.8))
    ]
    # The statement links to both of its entities.
    linked = {n.concept_id: n.type for n in stack.store.get_neighbors(statement)}
    assert linked == {cause: AssociationType.SEMANTIC, effect: AssociationType.SEMANTIC}


def test_relearning_strengthens(stack: Stack) -> None:
    text = "Glaciers are made of ice."
    first = learn(stack, text)
    before = stack.store.get_concept(first["concept_id"], embedding=False)
    again = learn(stack, "  glaciers ARE made of ice.  ".strip())
    after = stack.store.get_concept(first["concept_id"], embedding=False)
    assert again["concept_id"] == first["concept_id"]
    assert again["concepts_created"] == 0
    assert before is not None and after is not None
    assert after.strength == pytest.approx(before.strength * 1.02)


def test_batch_is_one_storage_transaction(stack: Stack) -> None:
    before = stack.store.stats()
    response = stack.http.post(
        "/sutra/learn/batch",
        json={
            "items": [
                {"text": "Raw honey from wild bees.", "source": "test"},
                {"text": "Honey is a sweetener."},
                {"text": "Sugar is a sweetener.", "metadata": {"k": 1}},
            ]
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    after = stack.store.stats()
    assert after.batches == before.batches + 1
    assert len(body["results"]) == 3
    assert body["concepts_created"] == sum(r["concepts_created"] for r in body["results"])
    # No relation in the first text: one concept, which mentions "honey" from the second.
    # "sweetener" is shared by the last two and created once.
    assert body["concepts_created"] == 1 + 3 + 2
    honey = entity("honey")
    first = body["results"][0]
    assert [(a["target_id"], a["type"]) for a in first["associations"]] == [(honey, "semantic")]
    assert after.concepts == before.concepts + body["concepts_created"]


def test_two_hop_question_follows_the_path(stack: Stack) -> None:
    learn(stack, "The heart is part of the circulatory system.")
    learn(stack, "The circulatory system transports oxygen.")
    response = stack.http.post(
        "/sutra/query", json={"query": "What does the heart help transport?"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "oxygen" in body["answer"]
    assert 0 < body["confidence"] <= 1
    breakdown = body["confidence_breakdown"]
    assert breakdown["final"] == body["confidence"]
    assert 0 < breakdown["graph"] <= 1 and 0 < breakdown["semantic"] <= 1
    best = body["reasoning_paths"][0]
    assert best["path"][0] == "heart"
    assert "circulatory system" in best["path"][1:-1]
    assert "oxygen" in best["path"][-1]
    assert [e["type"] for e in best["edges"]] == ["compositional", "semantic"]
    assert 0 < best["confidence"] <= 1
    assert "heart is part of circulatory system" in best["explanation"]
    assert "heart is part of circulatory system" in body["explanation"]
    assert body["concepts_accessed"] >= 3
    assert body["semantic_support"]


def test_same_query_same_response(stack: Stack) -> None:
    learn(stack, "Lightning causes thunder.")
    learn(stack, "Thunder is a loud sound.")
    query = {"query": "What does lightning cause?", "max_paths": 10}
    first = stack.http.post("/sutra/query", json=query).json()
    for _ in range(3):
        assert stack.http.post("/sutra/query", json=query).json() == first
    assert "thunder" in first["answer"].lower()


def test_query_options_shape_the_answer(stack: Stack) -> None:
    learn(stack, "Caffeine causes alertness.")
    asked = {"query": "What does caffeine cause?"}
    graph_only = stack.http.post("/sutra/query", json={**asked, "semantic_boost": 0.0}).json()
    semantic_only = stack.http.post("/sutra/query", json={**asked, "semantic_boost": 1.0}).json()
    assert graph_only["confidence"] == graph_only["confidence_breakdown"]["graph"]
    assert semantic_only["confidence"] == semantic_only["confidence_breakdown"]["semantic"]
    one = stack.http.post("/sutra/query", json={**asked, "max_paths": 1}).json()
    assert len(one["reasoning_paths"]) <= 1
    strict = stack.http.post("/sutra/query", json={**asked, "threshold": 1.0}).json()
    assert strict["answer"] == "" and strict["confidence"] == 0


def test_question_without_a_path_is_a_direct_semantic_match(stack: Stack) -> None:
    learn(stack, "Saturn has spectacular rings made of ice and rock.")
    body = stack.http.post(
        "/sutra/query", json={"query": "spectacular rings made of ice and rock"}
    ).json()
    assert "Saturn" in body["answer"]
    assert body["confidence"] > 0


def test_semantic_search_ranks_the_relevant_fact_first(stack: Stack) -> None:
    for text in (
        "Penguins live in Antarctica.",
        "The stock market fell sharply today.",
        "Photosynthesis converts sunlight into chemical energy.",
    ):
        learn(stack, text)
    response = stack.http.post(
        "/sutra/search", json={"query": "how do plants turn sunlight into energy", "top_k": 5}
    )
    assert response.status_code == 200
    results = response.json()["results"]
    # The fact's entities ("sunlight", "photosynthesis") are concepts too: the fact is the
    # first statement, the other statements do not come before it.
    statements = [r["content"] for r in results if " " in r["content"] and "." in r["content"]]
    assert statements[0] == "Photosynthesis converts sunlight into chemical energy."
    similarities = [r["similarity"] for r in results]
    assert similarities == sorted(similarities, reverse=True)
    high = stack.http.post(
        "/sutra/search", json={"query": "photosynthesis sunlight", "threshold": 0.99}
    ).json()
    assert high["results"] == []


@pytest.mark.parametrize("query", ["of the", "a", "The"])
def test_a_query_of_stop_words_only_finds_nothing_instead_of_failing(
    stack: Stack, query: str
) -> None:
    learn(stack, "Penguins live in Antarctica.")
    search = stack.http.post("/sutra/search", json={"query": query})
    assert search.status_code == 200, search.text
    assert search.json()["results"] == []
    answer = stack.http.post("/sutra/query", json={"query": query})
    assert answer.status_code == 200, answer.text
    assert answer.json()["reasoning_paths"] == []


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/sutra/learn", {}, "text"),
        ("/sutra/learn", {"text": ""}, "text"),
        ("/sutra/learn", {"text": "x" * 10_001}, "text"),
        ("/sutra/learn/batch", {"items": []}, "items"),
        ("/sutra/learn/batch", {"items": [{"text": "ok"}, {"text": 5}]}, "items.1.text"),
        ("/sutra/query", {"query": "q", "max_depth": 7}, "max_depth"),
        ("/sutra/query", {"query": "q", "semantic_boost": 1.5}, "semantic_boost"),
        ("/sutra/query", {"query": "q" * 2001}, "query"),
        ("/sutra/search", {"query": "q", "top_k": 0}, "top_k"),
    ],
)
def test_validation_errors_name_the_field(stack: Stack, path: str, body: dict, field: str) -> None:
    response = stack.http.post(path, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert error["status"] == 422 and field in error["message"]


def test_metrics_are_sutra_hybrid(stack: Stack) -> None:
    stack.http.post("/sutra/search", json={"query": "metrics please"})
    stack.http.post("/sutra/search", json={"query": "metrics please"})
    text = stack.http.get("/metrics").text
    for name in (
        'sutra_hybrid_requests_total{method="POST",route="/sutra/search",status="200"}',
        "sutra_hybrid_request_duration_seconds_bucket",
        "sutra_hybrid_embedding_cache_hits_total",
        "sutra_hybrid_embedding_cache_misses_total",
        "sutra_hybrid_embed_queue_depth",
    ):
        assert name in text, name
    hits = re.search(r"^sutra_hybrid_embedding_cache_hits_total (\S+)$", text, re.M)
    assert hits is not None and float(hits.group(1)) >= 1
