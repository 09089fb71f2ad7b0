"""One trace from a client through sutra-api, sutra-hybrid and the storage server: three real
processes exporting OTLP/HTTP to a receiver in this process; and tracing off by default."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sutra.common.testing import poll

from .support import CLIENT, SERVER, OtlpReceiver, ReceivedSpan, Stack, otel_env, run_stack


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as running:
        yield running


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: OtlpReceiver) -> Iterator[Stack]:
    with run_stack(tmp_path_factory.mktemp("traced"), otel_env(receiver.endpoint)) as running:
        yield running


SERVICE = "sutra.storage.v1.StorageService"


def traceparent() -> tuple[str, str, str]:
    """A caller's sampled W3C traceparent header, its trace id and its span id."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


def chain(span: ReceivedSpan, spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    """`span` and its ancestors among `spans`, nearest first."""
    by_id = {s.span_id: s for s in spans}
    out = [span]
    while out[-1].parent_id in by_id:
        out.append(by_id[out[-1].parent_id])
    return out


def find(spans: list[ReceivedSpan], service: str, kind: int, name: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.service == service and s.kind == kind and s.name == name]


def test_one_trace_from_the_client_through_api_hybrid_and_storage(
    stack: Stack, receiver: OtlpReceiver
) -> None:
    header, trace_id, caller = traceparent()
    query = f"What does smoking cause? ({trace_id})"  # a question never cached before
    with httpx.Client(base_url=stack.api.url, timeout=30) as http:
        reply = http.post("/reason", json={"query": query}, headers={"traceparent": header})
    assert reply.status_code == 200, reply.text

    def complete(spans: list[ReceivedSpan]) -> bool:
        """The api's and hybrid's server spans are there (each process exports on its own
        schedule), and a storage span that descends from hybrid's."""
        return (
            bool(find(spans, "sutra-api", SERVER, "POST /reason"))
            and bool(find(spans, "sutra-hybrid", SERVER, "POST /sutra/query"))
            and any(
                s.service == "storage-server"
                and "sutra-hybrid" in {a.service for a in chain(s, spans)}
                for s in spans
            )
        )

    spans = receiver.wait(trace_id, complete)
    (api,) = find(spans, "sutra-api", SERVER, "POST /reason")
    assert api.parent_id == caller  # the client's span, across the first process boundary
    assert api.attributes["http.response.status_code"] == 200
    (hybrid,) = find(spans, "sutra-hybrid", SERVER, "POST /sutra/query")
    api_call, *above = chain(hybrid, spans)[1:]
    assert (api_call.service, api_call.kind) == ("sutra-api", CLIENT)
    assert above[-1] == api  # through the api's own (internal) spans
    stored = [s for s in spans if s.service == "storage-server"]
    assert stored and all(s.kind == SERVER for s in stored)
    for span in stored:
        hybrid_call, *above = chain(span, spans)[1:]
        assert (hybrid_call.service, hybrid_call.kind) == ("sutra-hybrid", CLIENT)
        assert hybrid_call.name == span.name == f"{SERVICE}/{span.attributes['rpc.method']}"
        assert hybrid in above and above[-1] == api


def test_the_api_calls_to_storage_carry_the_trace(stack: Stack, receiver: OtlpReceiver) -> None:
    with httpx.Client(base_url=stack.api.url, timeout=30) as http:
        learned = http.post("/learn", json={"content": "Rain causes floods."})
        assert learned.status_code == 201, learned.text
        header, trace_id, caller = traceparent()
        concept_id = learned.json()["concept_id"]
        reply = http.get(f"/concepts/{concept_id}", headers={"traceparent": header})
    assert reply.status_code == 200, reply.text
    method, route = f"{SERVICE}/GetConcept", "GET /concepts/{concept_id}"

    def complete(spans: list[ReceivedSpan]) -> bool:
        stored = find(spans, "storage-server", SERVER, method)
        return bool(stored and find(spans, "sutra-api", SERVER, route))

    spans = receiver.wait(trace_id, complete)
    (stored,) = find(spans, "storage-server", SERVER, method)
    (api,) = find(spans, "sutra-api", SERVER, route)
    call, *above = chain(stored, spans)[1:]
    assert (call.service, call.kind, call.name) == ("sutra-api", CLIENT, method)
    assert above[-1] == api and api.parent_id == caller
    assert stored.attributes["rpc.grpc.status_code"] == 0


def test_a_request_without_traceparent_starts_a_trace_and_probes_make_none(
    stack: Stack, receiver: OtlpReceiver
) -> None:
    with httpx.Client(base_url=stack.api.url, timeout=30) as http:
        for service in (stack.api, stack.hybrid):
            for path in ("/health", "/ready", "/metrics"):
                assert http.get(f"{service.url}{path}").status_code == 200
        query = f"floods {secrets.token_hex(4)}"
        reply = http.post("/semantic-search", json={"query": query, "top_k": 3})
    assert reply.status_code == 200, reply.text

    def root() -> ReceivedSpan | None:
        return next(
            iter(find(list(receiver.spans), "sutra-api", SERVER, "POST /semantic-search")), None
        )

    api = poll(root, timeout=10, what="the api's span of POST /semantic-search")
    assert api.parent_id == ""  # no traceparent: the api starts the trace

    def complete(spans: list[ReceivedSpan]) -> bool:
        hybrid = find(spans, "sutra-hybrid", SERVER, "POST /sutra/search")
        return bool(hybrid) and any(s.service == "storage-server" for s in spans)

    receiver.wait(api.trace_id, complete)
    # Every span of a service is exported in the order they ended, so a probe's span would be
    # here by now. Probes and scrapes make none, and the storage server never starts a trace
    # (hybrid's readiness probe reads storage's stats outside any trace).
    spans = list(receiver.spans)
    assert not {s.name for s in spans} & {"GET /health", "GET /ready", "GET /metrics", "GET /ping"}
    assert all(s.parent_id for s in spans if s.service == "storage-server")
    assert not [s for s in spans if "grpc.health" in s.name]


SCRIPT = """
import sys, tempfile
from opentelemetry import trace
from sutra.api.app import create_app
from sutra.api.settings import ApiSettings
from sutra.common import tracing
from sutra.common.logging import configure_logging
from sutra.hybrid.app import create_app as create_hybrid
from sutra.hybrid.embeddings import make_embedder
from sutra.hybrid.settings import HybridSettings
from sutra.storage.server import StorageServer
from sutra.storage.settings import StorageSettings

configure_logging("test")
api = create_app(ApiSettings())
hybrid = create_hybrid(HybridSettings(), make_embedder("hashing", 384))
server = StorageServer(StorageSettings(storage_path=tempfile.mkdtemp()))
server.engine.close()
interceptors = tracing.server_interceptors() + tracing.aio_client_interceptors()
print(tracing.active(), type(trace.get_tracer_provider()).__name__,
      "opentelemetry.sdk" in sys.modules, bool(interceptors))
"""


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"OTEL_SERVICE_NAME": "x", "OTEL_BSP_SCHEDULE_DELAY": "100"},
        {"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"},
        {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"},
        {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"},
    ],
    ids=["nothing-set", "no-exporter", "exporter-none", "sdk-disabled", "bad-protocol"],
)
def test_tracing_is_off_without_an_exporter(env: dict[str, str], tmp_path: Path) -> None:
    """No provider (so FastAPI makes no span either), no SDK import, no interceptor; a bad
    setting is logged, and never stops a service."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env={**clean, **env, "SUTRA_STORAGE_PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["False", "ProxyTracerProvider", "False", "False"]
    if "OTEL_EXPORTER_OTLP_PROTOCOL" in env:
        assert '"event":"tracing_off"' in result.stderr and "carrier-pigeon" in result.stderr
