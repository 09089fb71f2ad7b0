"""The dashboard's HTTP and WebSocket API, against the stack as `make run` starts it."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from sutra.common.testing import poll
from sutra.control.auth import SUBPROTOCOL
from sutra.storage.client import StorageClient

from .support import TOKEN, UpStack, next_push, push_until, websocket

AUTH = {"Authorization": f"Bearer {TOKEN}"}
SERVICES = {"storage-server", "sutra-hybrid", "sutra-api"}
DATA_ENDPOINTS = [
    "/api/metrics",
    "/api/services",
    "/api/history",
    "/api/graph/search?q=heart",
    "/api/graph/concepts/00000000000000000000000000000000",
]
WRONG = [
    {},
    {"Authorization": "Bearer wrong-token-0123456789abcdef"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": TOKEN},
]


@pytest.mark.parametrize("path", DATA_ENDPOINTS)
def test_data_endpoints_refuse_a_missing_or_wrong_token(stack: UpStack, path: str) -> None:
    for headers in WRONG:
        reply = httpx.get(stack.control + path, headers=headers)
        assert reply.status_code == 401, (headers, reply.text)
        assert reply.headers["www-authenticate"] == "Bearer"
        error = reply.json()["error"]
        assert error["code"] == "unauthorized"
        assert "SUTRA_CONTROL_TOKEN" in error["message"]
    assert httpx.get(stack.control + path, headers=AUTH).status_code in (200, 404)


def test_the_page_and_the_probes_need_no_token(stack: UpStack) -> None:
    page = httpx.get(stack.control + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in ("dashboard.js", "style.css", "favicon.svg"):
        assert httpx.get(f"{stack.control}/static/{asset}").status_code == 200, asset
    assert httpx.get(stack.control + "/health").json()["status"] == "ok"
    assert httpx.get(stack.control + "/ready").status_code == 200
    assert httpx.get(stack.control + "/api/auth").json()["token_required"] is True
    own = httpx.get(stack.control + "/metrics").text
    assert "sutra_control_rounds_total" in own
    assert "sutra_storage_concepts" not in own  # its own figures, not the services'


def test_services_lists_every_service_up_with_where_it_was_read(stack: UpStack) -> None:
    def all_up() -> dict | None:
        services = httpx.get(stack.control + "/api/services", headers=AUTH).json()["services"]
        found = {s["name"]: s for s in services}
        return found if all(found[n]["status"] == "up" for n in SERVICES) else None

    found = poll(all_up, timeout=10, what="every service up")
    assert set(found) >= SERVICES
    assert found["sutra-api"]["target"] == stack.api
    assert found["storage-server"]["target"] == f"127.0.0.1:{stack.env['SUTRA_STORAGE_PORT']}"
    for name in SERVICES:
        assert found[name]["live"] and found[name]["ready"] and found[name]["reason"] is None


def test_storage_figures_are_the_storage_servers_own(stack: UpStack) -> None:
    address = f"127.0.0.1:{stack.env['SUTRA_STORAGE_PORT']}"
    with StorageClient(address) as client:

        def agree() -> bool:
            stats = client.stats()
            shown = httpx.get(stack.control + "/api/metrics", headers=AUTH).json()["metrics"]
            storage = shown["storage"]
            return (storage["concepts"], storage["associations"], storage["store_bytes"]) == (
                stats.concepts, stats.associations, stats.store_bytes,
            )  # fmt: skip

        poll(agree, timeout=10, what="dashboard and GetStats agreeing")
    storage = httpx.get(stack.control + "/api/metrics", headers=AUTH).json()["metrics"]["storage"]
    assert storage["concepts"] >= 50  # the demo knowledge
    assert storage["queue_depth"] == 0


def test_websocket_refuses_a_missing_or_wrong_token(stack: UpStack) -> None:
    for token, header in [
        (None, False),
        ("wrong-token-0123456789abcdef", False),
        ("wrong-token-0123456789abcdef", True),
        (TOKEN + "x", False),
    ]:
        with (
            pytest.raises(InvalidStatus) as refused,
            websocket(stack.control, token, header=header),
        ):
            pass
        assert refused.value.response.status_code == 403, (token, header)
    own = httpx.get(stack.control + "/metrics").text
    assert 'sutra_control_refused_total{kind="websocket"}' in own


def test_websocket_pushes_every_interval_and_sees_a_learn(stack: UpStack) -> None:
    with websocket(stack.control) as ws:
        assert ws.subprotocol == SUBPROTOCOL  # the name, never the token, comes back
        first = next_push(ws)
        assert set(first) == {"health", "metrics", "timestamp", "interval"}
        assert first["interval"] == 0.5
        assert set(first["health"]) >= SERVICES
        second = next_push(ws)
        assert second["timestamp"] > first["timestamp"]
        before = second["metrics"]["storage"]["concepts"]
        fact = f"Sample {uuid.uuid4().hex[:8]} causes test {uuid.uuid4().hex[:8]}."
        learned = httpx.post(stack.api + "/learn", json={"content": fact}, timeout=30)
        assert learned.status_code == 201, learned.text
        grown = push_until(
            ws,
            lambda p: (p["metrics"]["storage"]["concepts"] or 0) > before,
            timeout=10,
            what="more concepts",
        )
        assert grown["metrics"]["storage"]["concepts"] >= before + 3  # the fact and its two ends
    # Non-browser clients may send the token as a header instead.
    with websocket(stack.control, header=True) as ws:
        assert set(next_push(ws)) == {"health", "metrics", "timestamp", "interval"}


def test_api_traffic_shows_as_a_rate_and_latency_percentiles(stack: UpStack) -> None:
    stop = threading.Event()

    def traffic() -> None:
        with httpx.Client(base_url=stack.api, timeout=30) as client:
            while not stop.is_set():
                client.post("/reason", json={"query": "What does the heart help transport?"})
                time.sleep(0.02)

    worker = threading.Thread(target=traffic)
    worker.start()
    try:
        with websocket(stack.control) as ws:
            push = push_until(
                ws,
                lambda p: (
                    (p["metrics"]["api"]["request_rate"] or 0) > 0
                    and p["metrics"]["api"]["latency_ms"]["p99"] is not None
                    and (p["metrics"]["api"]["cache_hit_ratio"] or 0) > 0
                ),
                timeout=15,
                what="API traffic",
            )
    finally:
        stop.set()
        worker.join()
    api = push["metrics"]["api"]
    latency = api["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert api["error_ratio"] == 0
    assert 0 < api["cache_hit_ratio"] < 1  # one miss, then the same question from the cache
    history = httpx.get(stack.control + "/api/history", headers=AUTH).json()
    assert history["points"] and "api.request_rate" in history["series"]
    rates = [p["values"]["api.request_rate"] for p in history["points"]]
    assert any(r for r in rates if r)


def test_the_knowledge_graph_finds_a_concept_and_walks_outward(stack: UpStack) -> None:
    found = httpx.get(
        stack.control + "/api/graph/search", params={"q": "heart"}, headers=AUTH
    ).json()["results"]
    assert found, "the demo knowledge mentions the heart"
    start = next(r for r in found if r["content"] == "heart")
    here = httpx.get(
        f"{stack.control}/api/graph/concepts/{start['concept_id']}", headers=AUTH
    ).json()
    assert here["concept"]["content"] == "heart"
    kinds = {"semantic", "causal", "temporal", "hierarchical", "compositional"}
    assert here["neighbors"]
    for n in here["neighbors"]:
        assert n["type"] in kinds and n["direction"] in ("outgoing", "incoming")
        assert 0 < n["confidence"] <= 1 and n["content"]
    step = here["neighbors"][0]
    there = httpx.get(
        f"{stack.control}/api/graph/concepts/{step['concept_id']}", headers=AUTH
    ).json()
    back = [n for n in there["neighbors"] if n["concept_id"] == start["concept_id"]]
    assert back and back[0]["type"] == step["type"]
    assert back[0]["direction"] != step["direction"]  # the same edge, seen from its other end


def test_the_knowledge_graph_names_the_field_at_fault(stack: UpStack) -> None:
    bad_id = httpx.get(stack.control + "/api/graph/concepts/not-an-id", headers=AUTH)
    assert bad_id.status_code == 422 and bad_id.json()["error"]["field"] == "concept_id"
    unknown = httpx.get(f"{stack.control}/api/graph/concepts/{'0' * 32}", headers=AUTH)
    assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "concept_id"
    empty = httpx.get(stack.control + "/api/graph/search", params={"q": ""}, headers=AUTH)
    assert empty.status_code == 422 and empty.json()["error"]["field"] == "q"
