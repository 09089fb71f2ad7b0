"""A tiny OTLP/HTTP receiver (POST /v1/traces, protobuf) on 127.0.0.1, and the stack's
processes started with tracing pointed at it."""

from __future__ import annotations

import contextlib
import gzip
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from sutra.common.testing import HttpService, free_port, poll, start_http_service
from sutra.storage.testing import ServerProcess, run_server

SERVER, CLIENT = 2, 3  # opentelemetry.proto.trace.v1.Span.SpanKind


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    kind: int
    trace_id: str
    span_id: str
    parent_id: str  # "" for a root span
    attributes: dict[str, Any] = field(hash=False)


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def decode(body: bytes) -> list[ReceivedSpan]:
    """The spans of one ExportTraceServiceRequest."""
    request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        service=str(resource.get("service.name")),
                        name=span.name,
                        kind=span.kind,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                    )
                )
    return spans


class OtlpReceiver:
    """Collects every span exported to it; `endpoint` is OTEL_EXPORTER_OTLP_ENDPOINT."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.requests = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.headers.get("content-encoding") == "gzip":
                    body = gzip.decompress(body)
                ok = self.path == "/v1/traces"
                if ok:
                    receiver.add(decode(body))
                reply = trace_service_pb2.ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if ok else 404)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add(self, spans: list[ReceivedSpan]) -> None:
        with self._lock:
            self.spans.extend(spans)
            self.requests += 1

    def trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self._lock:
            return [s for s in self.spans if s.trace_id == trace_id]

    def wait(
        self, trace_id: str, done: Callable[[list[ReceivedSpan]], bool], timeout: float = 10.0
    ) -> list[ReceivedSpan]:
        """The spans of `trace_id` once `done` holds of them (AssertionError after timeout)."""
        return poll(
            lambda: (lambda spans: spans if done(spans) else None)(self.trace(trace_id)),
            timeout=timeout,
            what=f"spans of trace {trace_id}",
        )

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def otel_env(endpoint: str) -> dict[str, str]:
    """Tracing on, exporting OTLP/HTTP to `endpoint` within a tenth of a second."""
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }


@dataclass
class Stack:
    storage: ServerProcess
    hybrid: HttpService
    api: HttpService


@contextlib.contextmanager
def run_stack(root: Path, env: Mapping[str, str]) -> Iterator[Stack]:
    """Storage, hybrid and api as real processes, each with `env` added to its environment;
    hybrid and api start side by side."""
    with run_server(root / "data", env=env) as storage:
        hybrid_port, api_port = free_port(), free_port()
        hybrid = start_http_service(
            "sutra.hybrid",
            env={
                **env,
                "SUTRA_HYBRID_HOST": "127.0.0.1",
                "SUTRA_HYBRID_PORT": str(hybrid_port),
                "SUTRA_STORAGE_SERVER": storage.address,
                "SUTRA_EMBEDDER": "hashing",
            },
            port=hybrid_port,
            log_path=root / "hybrid.log",
        )
        api = start_http_service(
            "sutra.api",
            env={
                **env,
                "SUTRA_API_HOST": "127.0.0.1",
                "SUTRA_API_PORT": str(api_port),
                "SUTRA_STORAGE_SERVER": storage.address,
                "SUTRA_HYBRID_URL": hybrid.url,
                "SUTRA_REDIS_URL": "",
            },
            port=api_port,
            log_path=root / "api.log",
        )
        try:
            hybrid.wait_ready()
            api.wait_ready()
            yield Stack(storage, hybrid, api)
        finally:
            api.stop()
            hybrid.stop()
