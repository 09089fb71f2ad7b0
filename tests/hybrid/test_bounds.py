"""sutra-hybrid bounds every value a request carries; a value past its bound is a 422 naming
it (a real hybrid process and storage server; the walker is proven in tests/api/test_bounds)."""

from __future__ import annotations

import pytest

from tests.api.bounds import OverTheBound, over_the_bounds, unbounded
from tests.hybrid.conftest import Stack


def test_the_published_schema_bounds_every_request_value(stack: Stack) -> None:
    document = stack.http.get("/openapi.json").json()
    assert unbounded(document) == []
    assert {str(case) for case in over_the_bounds(document)} >= {
        *(f"POST /sutra/query {f}" for f in ("max_depth", "max_paths", "threshold", "query")),
        "POST /sutra/query semantic_boost",
        *(f"POST /sutra/search {f}" for f in ("query", "top_k", "threshold")),
        *(f"POST /sutra/learn {f}" for f in ("text", "source", "metadata")),
        "POST /sutra/learn/batch items",
    }


def test_a_value_past_its_bound_is_a_422_naming_the_field(stack: Stack) -> None:
    cases: list[OverTheBound] = over_the_bounds(stack.http.get("/openapi.json").json())
    assert cases
    for case in cases:
        valid = stack.http.request(
            case.method, case.valid.path, params=case.valid.params, json=case.valid.body
        )
        assert valid.status_code != 422, (str(case), valid.text)
        past = stack.http.request(
            case.method, case.past.path, params=case.past.params, json=case.past.body
        )
        assert past.status_code == 422, (str(case), past.text)
        error = past.json()["error"]
        assert error["field"] == case.field and error["message"].startswith(f"{case.field}: ")


@pytest.mark.parametrize(
    "metadata",
    [
        {"n": 2**53},
        {"n": "x" * 1001},
        {"k" * 101: 1},
        {"tags": ["a"]},
        {f"k{i}": 1 for i in range(33)},
    ],
    ids=["number", "text", "key", "list", "keys"],
)
def test_metadata_past_its_bounds_is_refused(stack: Stack, metadata: dict) -> None:
    reply = stack.http.post("/sutra/learn", json={"text": "a", "metadata": metadata})
    assert reply.status_code == 422, reply.text
    assert reply.json()["error"]["field"].startswith("metadata")


def test_metadata_the_api_accepts_is_accepted(stack: Stack) -> None:
    metadata = {f"k{i}": [-(2**53 - 1), 2.5, "x" * 1000, True, None][i % 5] for i in range(31)}
    metadata["k" * 100] = 2**53 - 1
    reply = stack.http.post("/sutra/learn", json={"text": "Owls hunt mice.", "metadata": metadata})
    assert reply.status_code == 201, reply.text
