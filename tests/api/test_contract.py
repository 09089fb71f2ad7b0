"""The wire contract between api and hybrid: one schema per shared model in both OpenAPI
documents, and hybrid's replies parsed with the contract's models."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx
import pytest

from sutra.api.app import create_app
from sutra.api.breaker import DependencyFailure
from sutra.api.hybrid_client import HybridClient
from sutra.api.settings import ApiSettings
from sutra.common import contract
from sutra.common.http import ErrorBody, ErrorDetail
from sutra.hybrid.app import create_app as create_hybrid
from sutra.hybrid.embeddings import HashingEmbedder
from sutra.hybrid.settings import HybridSettings

SHARED = sorted(m.__name__ for m in (*contract.SHARED, ErrorBody, ErrorDetail))


def disagreements(api: dict[str, Any], hybrid: dict[str, Any], names: list[str]) -> list[str]:
    """Each shared component that is missing from one document or differs between them."""
    a, h = api["components"]["schemas"], hybrid["components"]["schemas"]
    return [name for name in names if name not in a or name not in h or a[name] != h[name]]


@pytest.fixture(scope="module")
def documents() -> tuple[dict[str, Any], dict[str, Any]]:
    api = create_app(ApiSettings()).openapi()
    hybrid = create_hybrid(HybridSettings(), HashingEmbedder(384)).openapi()
    return api, hybrid


def test_shared_models_have_one_schema_in_both_services(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    api, hybrid = documents
    assert disagreements(api, hybrid, SHARED) == []
    edge = api["components"]["schemas"]["ReasoningEdge"]["properties"]
    assert "label" in edge  # a field hybrid sends arrives in the public schema


def test_a_schema_that_drifts_on_one_side_is_reported(
    documents: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    api, hybrid = documents
    drifted = copy.deepcopy(hybrid)
    edge = drifted["components"]["schemas"]["ReasoningEdge"]
    edge["properties"]["weight"] = {"type": "number"}
    del drifted["components"]["schemas"]["SemanticHit"]
    assert disagreements(api, drifted, SHARED) == ["ReasoningEdge", "SemanticHit"]


def test_a_reply_that_breaks_the_contract_is_hybrid_failing() -> None:
    client = HybridClient("http://hybrid:8001", timeout=1)
    reply = {"query": "q", "results": [{"concept_id": "x" * 32, "content": "c"}]}
    with pytest.raises(DependencyFailure) as caught:
        client._parsed(httpx.Response(200, json=reply), "/sutra/search", contract.SearchResponse)
    error = caught.value.error
    assert (error.status, error.code, error.dependency) == (
        503,
        "bad_dependency_response",
        "hybrid",
    )
    assert "results.0.concept_id" in error.message
    ok = {"query": "q", "results": [{"concept_id": "a" * 32, "content": "c", "similarity": 1}]}
    parsed = client._parsed(httpx.Response(200, json=ok), "/p", contract.SearchResponse)
    assert parsed.results[0].similarity == 1.0
    asyncio.run(client.close())
