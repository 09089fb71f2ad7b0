"""OpenTelemetry tracing: one trace from a client's request through sutra-api, sutra-hybrid and
the storage server, off unless the standard OTEL_* variables turn it on.

On when OTEL_TRACES_EXPORTER names an exporter (`otlp`, `console`) or an OTLP endpoint is set
(OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; the exporter is then
`otlp`), and OTEL_SDK_DISABLED is not `true`. Unlike the specification's default (`otlp` even
when nothing is set), an unconfigured service exports nothing: then this module imports no
OpenTelemetry code at all, installs no middleware or interceptor, and the global tracer stays
the API's no-op proxy. `otlp` speaks OTEL_EXPORTER_OTLP_PROTOCOL, `http/protobuf` when unset
(the specification's default; the only OTLP exporter installed). The SDK itself reads the rest:
OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*,
OTEL_EXPORTER_OTLP_* (headers, timeout, compression), and OTEL_PROPAGATORS (W3C tracecontext
and baggage by default). A misconfiguration is logged and leaves tracing off, never stops a
service.

Spans: a SERVER span per HTTP request, made by FastAPI's own telemetry once a provider is
installed (it extracts the caller's `traceparent`; `fastapi_telemetry` configures it); a
SERVER span per unary gRPC call made inside a trace (`server_interceptors`, the context read
from the call's metadata); a CLIENT span per outgoing call made inside a trace, its context
injected into the request (`traced_transport` for httpx, `traced_channel` and
`aio_client_interceptors` for gRPC). Probes and scrapes (HTTP /health, /ready, /metrics,
/ping; gRPC health) are not traced. Work handed to a thread pool keeps the request's context
only through `ContextPool`.
"""

from __future__ import annotations

import contextvars
import logging
import os
from collections.abc import Callable, Mapping, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple, ParamSpec, TypeVar

import grpc
import grpc.aio

from sutra import __version__
from sutra.common.logging import log_event

if TYPE_CHECKING:
    import httpx
    from fastapi.telemetry import TelemetryConfig
    from opentelemetry.trace import Span, Tracer

__all__ = [
    "ContextPool",
    "active",
    "aio_client_interceptors",
    "configure",
    "fastapi_telemetry",
    "server_interceptors",
    "traced_channel",
    "traced_transport",
    "untraced",
]

log = logging.getLogger("sutra.tracing")
P = ParamSpec("P")
T = TypeVar("T")
UNTRACED_PATHS = frozenset({"/health", "/ready", "/metrics", "/ping"})
_OTLP_EXPORTERS = {"http/protobuf": "otlp_proto_http", "grpc": "otlp_proto_grpc"}
_tracer: Tracer | None = None


def active() -> bool:
    """Has `configure` turned tracing on in this process?"""
    return _tracer is not None


def _exporter_names(env: Mapping[str, str]) -> list[str]:
    """The trace exporters OTEL_* asks for; none when tracing is off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [n.strip() for n in env.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()]
    if "none" in names:
        return []
    endpoint = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    return names or (["otlp"] if endpoint else [])


def _exporter(name: str, env: Mapping[str, str]) -> Any:
    """An instance of the exporter installed under `name` (its entry point, as the SDK's own
    auto-configuration finds it)."""
    from importlib.metadata import entry_points

    if name == "otlp":
        protocol = (
            env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
            or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "http/protobuf"
        ).strip()
        if protocol not in _OTLP_EXPORTERS:
            raise ValueError(f"unsupported OTLP protocol {protocol!r}")
        name = _OTLP_EXPORTERS[protocol]
    found = entry_points(group="opentelemetry_traces_exporter", name=name)
    if not found:
        raise ValueError(f"no trace exporter {name!r} is installed")
    return next(iter(found)).load()()


def configure(service_name: str) -> bool:
    """Install the SDK's tracer provider when OTEL_* asks for it; True when tracing is on.

    `service_name` is the default of `service.name` (OTEL_SERVICE_NAME wins). Idempotent: the
    first call of a process decides.
    """
    global _tracer
    if _tracer is not None:
        return True
    env = os.environ
    names = _exporter_names(env)
    if not names:
        return False
    try:
        exporters = [_exporter(name, env) for name in names]
    except Exception as exc:
        log_event(log, "tracing_off", logging.ERROR, error=f"OTEL_TRACES_EXPORTER: {exc}")
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    provider = TracerProvider(resource=resource)  # flushes its spans at exit
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _tracer = trace.get_tracer("sutra", __version__)
    log_event(log, "tracing_on", exporters=names, service_name=resource.attributes[SERVICE_NAME])
    return True


class ContextPool(ThreadPoolExecutor):
    """A thread pool whose tasks run in a copy of the submitter's context (contextvars), so
    that storage calls made on a worker thread stay in the request's trace."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- HTTP


def untraced(scope: MutableMapping[str, Any]) -> bool:
    """Probes and scrapes make no span (FastAPI's telemetry `exclude`)."""
    return scope.get("path") in UNTRACED_PATHS


def fastapi_telemetry() -> TelemetryConfig:
    """`FastAPI(telemetry=...)`: FastAPI's own server spans (the caller's `traceparent`
    extracted, named `METHOD /route`), made once `configure` installed a provider, except
    for probes and scrapes. Without a provider FastAPI skips its telemetry altogether; while
    `configure` has not turned tracing on, it is off outright, which spares every request
    FastAPI's look for a global provider (an environment read, ~3 % of a cheap request)."""
    if _tracer is None:
        return {"tracing": False, "metrics": False, "logs": False, "exclude": untraced}
    return {"exclude": untraced}


def traced_transport(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
    """`inner` with a CLIENT span per request made inside a trace, its context in the request's
    headers (`traceparent`); `inner` itself while tracing is off."""
    tracer = _tracer
    if tracer is None:
        return inner
    import httpx
    from opentelemetry import propagate, trace
    from opentelemetry.trace import SpanKind, StatusCode

    class TracedTransport(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if not trace.get_current_span().get_span_context().is_valid:
                return await inner.handle_async_request(request)
            attributes = {"http.request.method": request.method, "url.full": str(request.url)}
            with tracer.start_as_current_span(
                request.method, kind=SpanKind.CLIENT, attributes=attributes
            ) as span:
                propagate.inject(request.headers)
                response = await inner.handle_async_request(request)
                span.set_attribute("http.response.status_code", response.status_code)
                if response.status_code >= 400:
                    span.set_status(StatusCode.ERROR)
                return response

        async def aclose(self) -> None:
            await inner.aclose()

    return TracedTransport()


# ------------------------------------------------------------------------------- gRPC


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: bool | None
    compression: Any


class _ClientCallDetails(_CallDetails, grpc.ClientCallDetails):
    """grpc.ClientCallDetails with other metadata (grpc offers no constructor of its own)."""


def _rpc_attributes(method: str) -> dict[str, str]:
    service, _, name = method.lstrip("/").rpartition("/")
    return {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}


def _with_context(metadata: Any) -> list[tuple[str, str | bytes]]:
    """The call's metadata plus the current trace context (`traceparent`, ...)."""
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [*(metadata or ()), *carrier.items()]


def _end(span: Span, code: grpc.StatusCode | None, details: str | bytes | None = None) -> None:
    """Record the call's status on `span` and end it."""
    from opentelemetry.trace import StatusCode

    code = code or grpc.StatusCode.OK
    span.set_attribute("rpc.grpc.status_code", code.value[0])
    if code != grpc.StatusCode.OK:
        if isinstance(details, bytes):  # a servicer context's details
            details = details.decode(errors="replace")
        span.set_status(StatusCode.ERROR, f"{code.name}: {details or ''}".rstrip(": "))
    span.end()


def _in_trace() -> bool:
    from opentelemetry import trace

    return trace.get_current_span().get_span_context().is_valid


def _span(method: str | bytes, kind_name: str, parent: Any = None) -> Span:
    """A started span of the gRPC call `method`, a child of `parent` (default: the current)."""
    from opentelemetry.trace import SpanKind

    assert _tracer is not None
    if isinstance(method, bytes):  # grpc.aio's client call details
        method = method.decode()
    return _tracer.start_span(
        method.lstrip("/"),
        context=parent,
        kind=SpanKind[kind_name],
        attributes=_rpc_attributes(method),
    )


class _ClientInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Blocking channels: a CLIENT span per unary call made inside a trace, ended when the call
    completes; streaming calls carry the current context without a span of their own."""

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if not _in_trace():
            return continuation(details, request)
        from opentelemetry import trace

        span = _span(details.method, "CLIENT")
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                outcome = continuation(_traced_details(details), request)
        except BaseException:
            _end(span, grpc.StatusCode.UNKNOWN)
            raise
        outcome.add_done_callback(lambda call: _end(span, call.code(), call.details()))
        return outcome

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(_traced_details(details) if _in_trace() else details, request)


def _traced_details(details: Any) -> _ClientCallDetails:
    return _ClientCallDetails(
        details.method,
        details.timeout,
        _with_context(details.metadata),
        details.credentials,
        details.wait_for_ready,
        getattr(details, "compression", None),
    )


class _AioClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """grpc.aio channels: a CLIENT span per unary call made inside a trace."""

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        if not _in_trace():
            return await continuation(details, request)
        from opentelemetry import trace

        span = _span(details.method, "CLIENT")
        try:
            with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                traced = grpc.aio.ClientCallDetails(
                    details.method,
                    details.timeout,
                    grpc.aio.Metadata(*_with_context(details.metadata)),
                    details.credentials,
                    details.wait_for_ready,
                )
                call = await continuation(traced, request)
                code = await call.code()  # the call has ended: its caller awaits no longer
        except BaseException:  # cancelled: the caller's deadline or a stop
            _end(span, grpc.StatusCode.CANCELLED)
            raise
        _end(span, code, await call.details())
        return call


class _ServerInterceptor(grpc.ServerInterceptor):
    """A SERVER span per unary call made inside a trace, a child of the context in the call's
    metadata. Calls outside any trace (a readiness probe's stats, the snapshot CLI) and the
    health service make none: an internal service continues traces, never starts them."""

    def intercept_service(self, continuation: Any, details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        method: str = details.method  # type: ignore[attr-defined]
        if handler is None or handler.unary_unary is None or method.startswith("/grpc.health."):
            return handler
        inner = handler.unary_unary
        metadata = {m.key: m.value for m in details.invocation_metadata or ()}  # type: ignore[attr-defined]

        def traced(request: Any, context: grpc.ServicerContext) -> Any:
            from opentelemetry import propagate, trace

            carrier = {k: v for k, v in metadata.items() if isinstance(v, str)}
            parent = propagate.extract(carrier)
            if not trace.get_current_span(parent).get_span_context().is_valid:
                return inner(request, context)
            span = _span(method, "SERVER", parent)
            try:
                with trace.use_span(span, record_exception=False, set_status_on_exception=False):
                    response = inner(request, context)
            except BaseException:
                # context.abort sets the status before it raises; anything else is UNKNOWN.
                _end(span, context.code() or grpc.StatusCode.UNKNOWN, context.details())
                raise
            _end(span, context.code(), context.details())
            return response

        return grpc.unary_unary_rpc_method_handler(
            traced,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def traced_channel(channel: grpc.Channel) -> grpc.Channel:
    """`channel` with client spans and context propagation; itself while tracing is off."""
    return grpc.intercept_channel(channel, _ClientInterceptor()) if _tracer else channel


def aio_client_interceptors() -> list[grpc.aio.ClientInterceptor]:
    """For `grpc.aio.insecure_channel(..., interceptors=...)`; none while tracing is off."""
    return [_AioClientInterceptor()] if _tracer else []


def server_interceptors() -> list[grpc.ServerInterceptor]:
    """For `grpc.server(..., interceptors=...)`; none while tracing is off."""
    return [_ServerInterceptor()] if _tracer else []
