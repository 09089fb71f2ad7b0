"""Every value a request carries has an upper bound, and a value past it is a 422 naming it.

The schema walker (`bounds.unbounded`) is proven on small schemas first, so that a clean
report on the real schema means something; then the API's own schema is walked, and a running
gateway is sent, for every bounded parameter and body field, a request valid but for that one
value just past its bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sutra.api.app import create_app
from sutra.api.settings import ApiSettings
from sutra.common.testing import HttpService, dead_url
from sutra.common.wire import META_KEY_CHARS, META_KEYS, META_NUMBER, META_TEXT_CHARS
from sutra.storage.testing import ServerProcess

from .bounds import OverTheBound, bounded_pattern, over_the_bounds, unbounded
from .support import assert_error, run_api

OPENAPI = create_app(ApiSettings()).openapi()
CASES = over_the_bounds(OPENAPI)
ID = "0123456789abcdef0123456789abcdef"


def document(body: dict[str, Any], *parameters: dict[str, Any]) -> dict[str, Any]:
    """A one-operation OpenAPI document whose body is `#/components/schemas/Body`."""
    return {
        "paths": {
            "/x/{n}": {
                "post": {
                    "parameters": list(parameters),
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Body"}}
                        }
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Body": body,
                "Node": {
                    "type": "object",
                    "properties": {
                        "next": {"$ref": "#/components/schemas/Node"},
                        "w": {"type": "number", "maximum": 1},
                    },
                },
            }
        },
    }


def test_the_walker_names_every_kind_of_unbounded_value() -> None:
    body = {
        "type": "object",
        "properties": {
            "k": {"type": "integer", "minimum": 1},
            "score": {"anyOf": [{"type": "number", "maximum": 1}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 9}},
            "name": {"type": "string"},
            "extra": {"type": "object", "additionalProperties": True},
            "anything": {"description": "no type"},
            "tree": {"$ref": "#/components/schemas/Node"},
        },
    }
    found = unbounded(document(body, {"name": "n", "in": "path", "schema": {"type": "integer"}}))
    assert found == [
        "POST /x/{n} path n: integer without a maximum",
        "POST /x/{n} path n: integer without a minimum",
        "POST /x/{n} body (application/json).k: integer without a maximum",
        "POST /x/{n} body (application/json).score: number without a minimum",
        "POST /x/{n} body (application/json).tags: array without maxItems",
        "POST /x/{n} body (application/json).name: string without maxLength",
        "POST /x/{n} body (application/json).extra: object without maxProperties",
        "POST /x/{n} body (application/json).extra: object keys without maxLength",
        "POST /x/{n} body (application/json).extra.*: any value is allowed",
        "POST /x/{n} body (application/json).anything: any value is allowed",
        "POST /x/{n} body (application/json).tree.w: number without a minimum",
        # The recursive model is walked once: its second visit adds nothing.
    ]


def test_the_walker_accepts_what_is_bounded() -> None:
    body = {
        "type": "object",
        "properties": {
            "k": {"type": "integer", "minimum": 1, "exclusiveMaximum": 10},
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "kind": {"enum": ["a", "b"]},
            "tags": {"type": "array", "maxItems": 3, "items": {"type": "boolean"}},
            "map": {
                "type": "object",
                "maxProperties": 2,
                "propertyNames": {"maxLength": 5},
                "additionalProperties": {"type": "null"},
            },
            "both": {
                "allOf": [
                    {"$ref": "#/components/schemas/Small"},
                    {"description": "annotation only"},
                ]
            },
        },
    }
    doc = document(
        body, {"name": "n", "in": "path", "schema": {"type": "integer", "minimum": 0, "maximum": 9}}
    )
    schemas = doc["components"]["schemas"]
    schemas["Small"] = {"type": "number", "minimum": 0, "maximum": 1}
    del schemas["Node"]
    assert unbounded(doc) == []


def test_only_an_anchored_pattern_without_open_repetition_bounds_a_string() -> None:
    assert bounded_pattern("^[0-9a-f]{32}$") and bounded_pattern(r"^a\+b$")
    assert not any(
        bounded_pattern(p) for p in ("[0-9a-f]{32}", "^a+$", "^a*$", "^a{2,}$", "^a{2,}", None)
    )


def test_the_api_bounds_every_value_a_request_carries() -> None:
    assert unbounded(OPENAPI) == []
    neighbors, reason = "GET /concepts/{concept_id}/neighbors", "POST /reason"
    assert {str(case) for case in CASES} >= {
        "GET /concepts/{concept_id} concept_id",
        *(f"{neighbors} {field}" for field in ("concept_id", "type", "limit")),
        *(f"{reason} {field}" for field in ("query", "max_steps", "num_paths", "threshold")),
        *(f"POST /semantic-search {field}" for field in ("query", "top_k", "threshold")),
        *(f"POST /learn {field}" for field in ("content", "source", "metadata")),
        "POST /learn/batch items",
        "POST /search/vector vector",
        "POST /search/vector k",
    }


@pytest.fixture(scope="module")
def api(storage: ServerProcess, logs: Path) -> Iterator[HttpService]:
    with run_api(storage.address, dead_url(), logs, ready_path="/health") as service:
        yield service


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_value_past_its_bound_is_a_422_naming_the_field(
    api: HttpService, case: OverTheBound
) -> None:
    with httpx.Client(base_url=api.url, timeout=10) as http:
        valid = http.request(
            case.method, case.valid.path, params=case.valid.params, json=case.valid.body
        )
        assert valid.status_code != 422, valid.text  # the same without the one value passes
        past = http.request(
            case.method, case.past.path, params=case.past.params, json=case.past.body
        )
    error = assert_error(past, 422, field=case.field)
    assert error["message"].startswith(f"{case.field}: "), error


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"items": [{"content": "x" * 10_001}]}, "items.0.content", "10000 characters"),
        ({"items": [{"content": "a", "metadata": {"n": 2**53}}]}, "items.0.metadata", "'n'"),
        ({"content": "a", "metadata": {"n": "x" * (META_TEXT_CHARS + 1)}}, "metadata", "'n'"),
        ({"content": "a", "metadata": {"k" * (META_KEY_CHARS + 1): 1}}, "metadata", "key"),
        ({"content": "a", "metadata": {"tags": ["a", "b"]}}, "metadata", "'tags'"),
        ({"content": "a", "metadata": {"deep": {"a": 1}}}, "metadata", "'deep'"),
    ],
)
def test_nested_values_past_their_bounds_name_the_field(
    api: HttpService, body: dict[str, Any], field: str, words: str
) -> None:
    path = "/learn/batch" if "items" in body else "/learn"
    error = assert_error(httpx.post(api.url + path, json=body), 422, field=field)
    assert words in error["message"], error


def test_the_bounds_themselves_are_accepted(api: HttpService) -> None:
    metadata = {
        f"k{i}": -META_NUMBER if i % 2 else "x" * META_TEXT_CHARS for i in range(META_KEYS - 1)
    }
    metadata["k" * META_KEY_CHARS] = None
    learned = httpx.post(api.url + "/learn", json={"content": "a", "metadata": metadata})
    assert learned.status_code == 503, learned.text  # valid; hybrid is absent
    neighbors = httpx.get(
        f"{api.url}/concepts/{ID}/neighbors",
        params={
            "limit": 1000,
            "type": ["semantic", "causal", "temporal", "hierarchical", "compositional"],
        },
    )
    assert_error(neighbors, 404, field="concept_id")  # valid; the concept does not exist


def test_zero_no_longer_means_no_limit(api: HttpService) -> None:
    reply = httpx.get(f"{api.url}/concepts/{ID}/neighbors", params={"limit": 0})
    error = assert_error(reply, 422, field="limit")
    assert error["message"] == "limit: Input should be greater than or equal to 1"
