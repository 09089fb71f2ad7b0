"""The sutra-hybrid HTTP service: learn, query and search over the storage server.

`create_app` builds the service object (`sutra.hybrid.service.Hybrid`), serves the routers
of `sutra.hybrid.routers` (their bodies are the wire contract, `sutra.common.contract`), and
starts the request's clock for `X-Sutra-Deadline-Ms` (`sutra.hybrid.deps`) in the metrics
middleware, the outermost layer.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sutra import __version__
from sutra.common import tracing
from sutra.common.http import install_error_handlers
from sutra.common.logging import log_event
from sutra.common.routing import serve_routers
from sutra.hybrid.deps import ARRIVED
from sutra.hybrid.embeddings import Embedder
from sutra.hybrid.metrics import HybridMetrics
from sutra.hybrid.routers import learn, operations, query
from sutra.hybrid.service import Hybrid
from sutra.hybrid.settings import HybridSettings

log = logging.getLogger("sutra.hybrid")


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
        scope[ARRIVED] = time.monotonic()  # the clock of the request's deadline
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


def create_app(settings: HybridSettings, embedder: Embedder) -> FastAPI:
    tracing.configure("sutra-hybrid")  # before the storage clients are made
    metrics = HybridMetrics()
    hybrid = Hybrid(settings, embedder, metrics)
    metrics.device.labels(hybrid.device).set(1)
    app = FastAPI(
        title="sutra-hybrid",
        version=__version__,
        description="Embeddings, learning (association extraction) and multi-path reasoning.",
        lifespan=_lifespan(hybrid, embedder),
        telemetry=tracing.fastapi_telemetry(),
    )
    app.state.hybrid = hybrid
    install_error_handlers(app)
    serve_routers(app, query.router, learn.router, operations.router)
    routes = {getattr(r, "path", "") for r in app.routes}
    app.add_middleware(MetricsMiddleware, metrics=metrics, routes=routes)
    return app


def _lifespan(
    hybrid: Hybrid, embedder: Embedder
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """Start the embedder with the server, stop everything when it stops."""
    settings = hybrid.settings

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

    return lifespan
