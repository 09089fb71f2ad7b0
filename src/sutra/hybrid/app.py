"""The sutra-hybrid HTTP service: learn, query and search over the storage server.

Storage calls use the shared blocking `StorageClient` (its deadlines, retries of
idempotent reads and error mapping) and run in a bounded thread pool: one hop off the
event loop per request, inside which a query makes its handful of storage calls (the
concepts of each step in one GetConcepts, the neighbour reads of a search level side by
side). That keeps one client and one error model for every service, and the loop
free for other requests, without a second async gRPC client to keep in step with it.
Embedding happens in the micro-batching worker (`batching`), called from those threads.

Deadlines. A caller may send `X-Sutra-Deadline-Ms`: how many milliseconds it will wait,
counted from when the request arrives here (relative, like gRPC's `grpc-timeout`, because
the caller's clock is another pod's). The request's work then ends by that time: it is not
started once the time is spent (waiting for a worker thread), every storage call gets the
time left as its gRPC deadline (`StorageClient.bounded`), and so does the wait for
embeddings. A request out of time is answered 504 `deadline_exceeded`, naming storage when
a storage call was cut by the deadline. Without the header, each storage call has its own
timeout (SUTRA_HYBRID_STORAGE_TIMEOUT) as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sutra import __version__
from sutra.common import tracing
from sutra.common.http import ERROR_RESPONSES, ServiceError, install_error_handlers
from sutra.common.logging import log_event
from sutra.common.wire import METADATA_DESCRIPTION, Metadata
from sutra.hybrid.batching import EmbedderStopped, EmbeddingService, EmbedQueueFull
from sutra.hybrid.embeddings import Embedder
from sutra.hybrid.learning import Learner, LearnItem
from sutra.hybrid.metrics import HybridMetrics
from sutra.hybrid.reasoning import Reasoner, bounded_embed
from sutra.hybrid.settings import HybridSettings
from sutra.storage.client import CallerDeadlineExceeded, RetryPolicy, StorageClient
from sutra.storage.errors import (
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    StorageError,
    Unavailable,
)

log = logging.getLogger("sutra.hybrid")
T = TypeVar("T")
RETRY_AFTER = 1.0
DEADLINE_HEADER = "X-Sutra-Deadline-Ms"
_ARRIVED = "sutra.arrived"  # scope key: when the request arrived (time.monotonic())
_MILLISECONDS = re.compile(r"\s*(\d{1,9})\s*")
# Past the deadline, a worker is still given this long to report a storage call the deadline
# cut (a 504 naming storage) before the request is answered 504 as hybrid's own.
DEADLINE_GRACE = 0.02

# ------------------------------------------------------------------ request and response


class LearnRequest(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=10_000,
        examples=["Smoking causes cancer."],
        description="the fact, 1 to 10,000 characters",
    )
    source: str | None = Field(None, max_length=1000, description="at most 1,000 characters")
    metadata: Metadata | None = Field(None, description=METADATA_DESCRIPTION)


class AssociationOut(BaseModel):
    source_id: str
    target_id: str
    type: str
    confidence: float


class LearnResponse(BaseModel):
    concept_id: str
    concepts_created: int
    associations_created: int
    concept_ids: list[str]
    associations: list[AssociationOut]


class LearnBatchRequest(BaseModel):
    items: list[LearnRequest] = Field(
        min_length=1, max_length=100, description="1 to 100 facts, written in one transaction"
    )


class LearnBatchResponse(BaseModel):
    results: list[LearnResponse]
    concepts_created: int
    associations_created: int


class QueryRequest(BaseModel):
    query: str = Field(
        min_length=1,
        max_length=2000,
        examples=["What causes cancer?"],
        description="the question, 1 to 2,000 characters",
    )
    semantic_boost: float = Field(
        0.5, ge=0, le=1, description="b in confidence = graph^(1-b) x semantic^b, 0 to 1"
    )
    max_depth: int = Field(3, ge=1, le=6, description="longest reasoning path in edges, 1 to 6")
    max_paths: int = Field(5, ge=1, le=20, description="reasoning paths to return, 1 to 20")
    threshold: float = Field(0.0, ge=0, le=1, description="lowest path confidence kept, 0 to 1")


class Breakdown(BaseModel):
    graph: float
    semantic: float
    final: float


class EdgeOut(BaseModel):
    type: str
    confidence: float
    label: str = Field("", description="the relation phrase the edge was learned from")


class PathOut(BaseModel):
    path: list[str]
    concept_ids: list[str]
    edges: list[EdgeOut]
    confidence: float
    explanation: str


class SupportOut(BaseModel):
    concept_id: str
    content: str
    similarity: float


class Alternative(BaseModel):
    answer: str
    confidence: float


class QueryResponse(BaseModel):
    query: str
    answer: str
    confidence: float
    confidence_breakdown: Breakdown
    reasoning_paths: list[PathOut]
    semantic_support: list[SupportOut]
    alternatives: list[Alternative]
    explanation: str
    concepts_accessed: int
    answer_type: str = Field("none", description="entity, yes_no, statement or none")
    status: str = Field("answered", description="answered, unknown or below_threshold")


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2000, description="1 to 2,000 characters")
    top_k: int = Field(10, ge=1, le=100, description="concepts to return, 1 to 100")
    threshold: float = Field(0.0, ge=-1, le=1, description="lowest cosine similarity, -1 to 1")


class SearchResponse(BaseModel):
    query: str
    results: list[SupportOut]


class Health(BaseModel):
    status: str
    version: str
    uptime_seconds: float


# ----------------------------------------------------------------------------- errors


def service_error(exc: Exception) -> ServiceError | None:
    """The client-facing error for a failure below a handler (None: unexpected)."""
    if isinstance(exc, CallerDeadlineExceeded) and exc.called:
        return ServiceError(
            504,
            "deadline_exceeded",
            f"deadline exceeded: storage did not answer within the request's deadline "
            f"({exc.message})",
            dependency="storage",
        )
    if isinstance(exc, CallerDeadlineExceeded | TimeoutError):
        return ServiceError(
            504,
            "deadline_exceeded",
            "deadline exceeded: the request's deadline passed before hybrid finished it",
        )
    if isinstance(exc, EmbedQueueFull):
        return ServiceError(
            503, "overloaded", str(exc), dependency="embedder", retry_after=RETRY_AFTER
        )
    if isinstance(exc, EmbedderStopped):
        return ServiceError(503, "unavailable", str(exc), dependency="embedder")
    if isinstance(exc, Unavailable | DeadlineExceeded):
        return ServiceError(
            503,
            "unavailable",
            f"storage unavailable: {exc.message}",
            dependency="storage",
            retry_after=RETRY_AFTER,
        )
    if isinstance(exc, ResourceExhausted):
        return ServiceError(
            503,
            "overloaded",
            f"storage is overloaded: {exc.message}",
            dependency="storage",
            retry_after=RETRY_AFTER,
        )
    if isinstance(exc, NotFound):
        return ServiceError(404, "not_found", exc.message, dependency="storage")
    if isinstance(exc, InvalidArgument):
        return ServiceError(400, "bad_request", f"storage: {exc.message}", dependency="storage")
    if isinstance(exc, StorageError):
        return ServiceError(502, "storage_error", f"storage: {exc.message}", dependency="storage")
    return None


# ---------------------------------------------------------------------------- metrics


class MetricsMiddleware:
    """Counts and times every request by route template (a plain ASGI middleware)."""

    def __init__(self, app: ASGIApp, metrics: HybridMetrics, routes: set[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope[_ARRIVED] = time.monotonic()  # the clock of the request's deadline
        path = scope["path"]
        route = path if path in self.routes else "other"
        method = scope["method"]
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.request_duration.labels(route, method).observe(
                time.perf_counter() - started
            )


# -------------------------------------------------------------------------------- app


class Hybrid:
    """Everything a request needs: storage clients, the embedder, the worker threads."""

    def __init__(
        self, settings: HybridSettings, embedder: Embedder, metrics: HybridMetrics
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.storage = StorageClient(
            settings.storage_server, timeout=settings.hybrid_storage_timeout
        )
        # Readiness must answer within the probe's deadline: one try, a short deadline.
        self.probe = StorageClient(
            settings.storage_server,
            timeout=settings.hybrid_ready_timeout,
            retry=RetryPolicy(attempts=1),
        )
        self.embeddings = EmbeddingService(
            embedder,
            cache_size=settings.hybrid_embed_cache_size,
            batch_size=settings.hybrid_embed_batch_size,
            batch_wait=settings.hybrid_embed_batch_wait_ms / 1000.0,
            queue_size=settings.hybrid_embed_queue_size,
            metrics=metrics,
        )
        self.reasoner = Reasoner(self.storage, self.embeddings.embed)
        self._learner = Learner(self.storage, self.embeddings.embed, self.reasoner.pool)
        # A ContextPool: the request's trace context goes along to the worker thread.
        self.executor = tracing.ContextPool(settings.hybrid_workers, thread_name_prefix="work")
        self.started = time.monotonic()

    def start(self) -> None:
        self.embeddings.start()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.reasoner.close()
        self.embeddings.stop()
        self.storage.close()
        self.probe.close()

    def learner(self, deadline: float | None) -> Learner:
        """A learner whose storage calls and embeddings end by `deadline`."""
        if deadline is None:
            return self._learner
        storage = self.storage.bounded(deadline)
        return Learner(storage, bounded_embed(self.embeddings.embed, deadline), self.reasoner.pool)

    async def run(self, fn: Callable[[], T], deadline: float | None = None) -> T:
        """Run blocking work in the pool, not started (and not awaited) past `deadline`;
        storage, queue and deadline failures become ServiceErrors."""
        loop = asyncio.get_running_loop()

        def start() -> T:
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("the deadline passed while waiting for a worker")
            return fn()

        try:
            work = loop.run_in_executor(self.executor, start)
            if deadline is None:
                return await work
            return await asyncio.wait_for(work, deadline - time.monotonic() + DEADLINE_GRACE)
        except Exception as exc:
            error = service_error(exc)
            if error is None:
                raise
            if isinstance(exc, StorageError):
                self.metrics.storage_errors.labels(exc.code.name).inc()
            raise error from None

    def ready(self) -> None:
        """Raise ServiceError (503, naming storage) unless storage answers and agrees."""
        try:
            stats = self.probe.stats()
        except StorageError as exc:
            raise ServiceError(
                503,
                "not_ready",
                f"storage at {self.settings.storage_server} is unreachable: {exc.message}",
                dependency="storage",
                retry_after=RETRY_AFTER,
            ) from None
        if stats.dimension and stats.dimension != self.embeddings.dimension:
            raise ServiceError(
                503,
                "not_ready",
                f"storage stores {stats.dimension}-dimensional vectors but this service "
                f"embeds to {self.embeddings.dimension}",
                dependency="storage",
            )


def request_deadline(request: Request) -> float | None:
    """When the caller needs the answer by (time.monotonic()), from X-Sutra-Deadline-Ms;
    None without the header."""
    raw = request.headers.get(DEADLINE_HEADER)
    if raw is None:
        return None
    match = _MILLISECONDS.fullmatch(raw)
    if match is None:
        raise ServiceError(
            422,
            "invalid_request",
            f"{DEADLINE_HEADER}: expected whole milliseconds, 0 to 999999999 (got {raw[:32]!r})",
            field=DEADLINE_HEADER,
        )
    arrived = request.scope.get(_ARRIVED, time.monotonic())
    return float(arrived) + int(match.group(1)) / 1000


Deadline = Annotated[float | None, Depends(request_deadline)]


def create_app(settings: HybridSettings, embedder: Embedder) -> FastAPI:
    tracing.configure("sutra-hybrid")  # before the storage clients are made
    metrics = HybridMetrics()
    hybrid = Hybrid(settings, embedder, metrics)
    device = str(getattr(embedder, "device", "cpu"))  # an embedder without one runs on the CPU
    metrics.device.labels(device).set(1)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        hybrid.start()
        log_event(
            log,
            "started",
            host=settings.hybrid_host,
            port=settings.hybrid_port,
            storage=settings.storage_server,
            embedder=getattr(embedder, "name", type(embedder).__name__),
            dimension=embedder.dimension,
        )
        try:
            yield
        finally:
            hybrid.close()
            log_event(log, "stopped")

    app = FastAPI(
        title="sutra-hybrid",
        version=__version__,
        description="Embeddings, learning (association extraction) and multi-path reasoning.",
        lifespan=lifespan,
        telemetry=tracing.fastapi_telemetry(),
    )
    app.state.hybrid = hybrid
    install_error_handlers(app)

    @app.post(
        "/sutra/learn", status_code=201, response_model=LearnResponse, responses=ERROR_RESPONSES
    )
    async def learn(body: LearnRequest, deadline: Deadline) -> dict[str, Any]:
        item = LearnItem(body.text, body.source, body.metadata)
        (result,) = await hybrid.run(lambda: hybrid.learner(deadline).learn([item]), deadline)
        metrics.learned.labels("concept").inc(len(result.concept_ids))
        metrics.learned.labels("association").inc(len(result.associations))
        return result.as_dict()

    @app.post(
        "/sutra/learn/batch",
        status_code=201,
        response_model=LearnBatchResponse,
        responses=ERROR_RESPONSES,
    )
    async def learn_batch(body: LearnBatchRequest, deadline: Deadline) -> dict[str, Any]:
        items = [LearnItem(i.text, i.source, i.metadata) for i in body.items]
        results = await hybrid.run(lambda: hybrid.learner(deadline).learn(items), deadline)
        out = [r.as_dict() for r in results]
        concepts = sum(int(r["concepts_created"]) for r in out)  # type: ignore[call-overload]
        associations = sum(int(r["associations_created"]) for r in out)  # type: ignore[call-overload]
        metrics.learned.labels("concept").inc(sum(len(r.concept_ids) for r in results))
        metrics.learned.labels("association").inc(associations)
        return {"results": out, "concepts_created": concepts, "associations_created": associations}

    @app.post("/sutra/query", response_model=QueryResponse, responses=ERROR_RESPONSES)
    async def query(body: QueryRequest, deadline: Deadline) -> dict[str, Any]:
        result = await hybrid.run(
            lambda: hybrid.reasoner.query(
                body.query,
                semantic_boost=body.semantic_boost,
                max_depth=body.max_depth,
                max_paths=body.max_paths,
                threshold=body.threshold,
                deadline=deadline,
            ),
            deadline,
        )
        metrics.reasoning_paths.observe(len(result["reasoning_paths"]))  # type: ignore[arg-type]
        metrics.concepts_accessed.observe(result["concepts_accessed"])  # type: ignore[arg-type]
        return result

    @app.post("/sutra/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
    async def search(body: SearchRequest, deadline: Deadline) -> dict[str, Any]:
        results = await hybrid.run(
            lambda: hybrid.reasoner.search(body.query, body.top_k, body.threshold, deadline),
            deadline,
        )
        return {"query": body.query, "results": results}

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health", response_model=Health)
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": __version__,
            "uptime_seconds": round(time.monotonic() - hybrid.started, 3),
        }

    @app.get("/ready", responses={503: ERROR_RESPONSES[503]})
    async def ready() -> dict[str, Any]:
        # The loop's default executor, not the request pool: a probe must not queue
        # behind slow queries.
        await asyncio.to_thread(hybrid.ready)
        return {"status": "ready", "dependencies": {"storage": "ok"}, "device": device}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes = {getattr(r, "path", "") for r in app.routes}
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=routes)
    return app
