"""The sutra-control application: `create_app(settings)` gives the ASGI app (FastAPI).

The page (`/`, `/static/...`) and the probes (`/health`, `/ready`, `/metrics` with the
dashboard's own metrics) need no token; every data endpoint and the WebSocket do. Other sites
open in the operator's browser are kept out as `origin` describes: the WebSocket only opens for
the dashboard's own origin, and without a token only loopback Host names are answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

import httpx
from fastapi import Depends, FastAPI, WebSocket
from fastapi.responses import FileResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sutra import __version__
from sutra.common.http import ServiceError, error_response, install_error_handlers
from sutra.common.security_headers import SecurityHeaders
from sutra.control.auth import SUBPROTOCOL, Guard, offered_protocols
from sutra.control.collectors import Collector, HttpCollector, StorageCollector
from sutra.control.graph import GraphReader, graph_routes
from sutra.control.metrics import ControlMetrics
from sutra.control.monitor import SERIES, Monitor
from sutra.control.origin import LoopbackHosts, same_origin
from sutra.control.settings import ControlSettings
from sutra.storage.shards.aio import async_storage_client

STATIC = resources.files("sutra.control.static")
# The page loads only its own files and cannot be framed; nothing is cached.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
FOREIGN_ORIGIN = "Origin: the live feed is open only to the dashboard's own page"


def finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities (possible in any scraped gauge) become null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def build_collectors(settings: ControlSettings, http: httpx.AsyncClient) -> list[Collector]:
    timeout = settings.control_timeout
    collectors: list[Collector] = [
        StorageCollector(
            "storage-server", settings.storage_server, settings.storage_metrics_url, http, timeout
        ),
        HttpCollector("sutra-hybrid", settings.hybrid_url, http, timeout),
        HttpCollector("sutra-api", settings.api_url, http, timeout),
    ]
    if settings.client_url:
        # A static site behind nginx: liveness only, no metrics of its own.
        collectors.append(
            HttpCollector(
                "sutra-client",
                settings.client_url,
                http,
                timeout,
                ready_path=None,
                metrics_path=None,
            )
        )
    return collectors


def create_app(settings: ControlSettings | None = None) -> FastAPI:
    settings = settings or ControlSettings()
    metrics = ControlMetrics()
    guard = Guard(settings.token, metrics)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # trust_env=False: the services are read directly, never through an HTTP(S)_PROXY
        # from the environment (it would turn every service "down" or read the wrong one).
        http = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        monitor = Monitor(
            build_collectors(settings, http),
            interval=settings.control_interval,
            # Each reading has its own timeout; this bounds a reading that hangs anyway.
            deadline=settings.control_timeout + 0.5,
            history_points=settings.history_points,
            metrics=metrics,
        )
        storage = async_storage_client(settings.storage_server, timeout=5.0)
        state["monitor"] = monitor
        state["graph"] = GraphReader(storage, http, settings.hybrid_url)
        task = asyncio.create_task(monitor.run(), name="monitor")
        state["task"] = task
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await monitor.close()
            await storage.close()
            await http.aclose()

    app = FastAPI(
        title="sutra-control",
        version=__version__,
        description="Operator dashboard: the services' health and metrics, live.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_error_handlers(app)
    if not guard.required:
        # Nothing else guards the data: answer no name but the loopback ones (DNS rebinding).
        app.add_middleware(LoopbackHosts)
    app.add_middleware(SecurityHeaders, headers=SECURITY_HEADERS)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(graph_routes(lambda: state["graph"], guard.http))

    def monitor() -> Monitor:
        return state["monitor"]  # type: ignore[no-any-return]

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(str(STATIC / "favicon.svg"), media_type="image/svg+xml")

    @app.get("/health")
    async def health() -> dict[str, Any]:
        """Liveness: the process serves requests."""
        return {"status": "ok", "version": __version__}

    @app.get("/ready")
    async def ready() -> dict[str, Any]:
        """Ready once the sampling loop runs and has read the services once (up or down)."""
        task = state.get("task")
        if task is None or task.done():
            raise ServiceError(503, "not_ready", "the sampling loop is not running")
        if monitor().latest is None:
            raise ServiceError(503, "not_ready", "first reading of the services not done yet")
        return {"status": "ready"}

    @app.get("/metrics", response_class=PlainTextResponse)
    async def own_metrics() -> Response:
        """The dashboard's own Prometheus metrics (no service data)."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/auth")
    async def auth_info() -> dict[str, Any]:
        """Whether the page must ask for a token (no token: loopback only, open), and the
        Grafana dashboard it links to (SUTRA_GRAFANA_URL; null: no link)."""
        return {
            "token_required": guard.required,
            "subprotocol": SUBPROTOCOL,
            "grafana_url": settings.grafana_url,
        }

    def latest() -> dict[str, Any]:
        snapshot = monitor().latest
        if snapshot is None:
            raise ServiceError(503, "not_ready", "first reading of the services not done yet")
        return finite(snapshot)  # type: ignore[no-any-return]

    @app.get("/api/metrics", dependencies=[Depends(guard.http)])
    async def api_metrics() -> dict[str, Any]:
        """The latest snapshot: `{health, metrics, timestamp, interval}`."""
        return latest()

    @app.get("/api/services", dependencies=[Depends(guard.http)])
    async def api_services() -> dict[str, Any]:
        """Each service's status (up, degraded, down), the reason, where it was read."""
        snapshot = latest()
        return {
            "timestamp": snapshot["timestamp"],
            "services": [{"name": name, **entry} for name, entry in snapshot["health"].items()],
        }

    @app.get("/api/history", dependencies=[Depends(guard.http)])
    async def api_history() -> dict[str, Any]:
        """The recent past for the charts: one point per round, oldest first."""
        points = list(monitor().history)
        return finite({"interval": settings.control_interval, "series": SERIES, "points": points})

    @app.websocket("/ws")
    async def websocket(ws: WebSocket) -> None:
        """Pushes `{health, metrics, timestamp, interval}` after every round."""
        if not same_origin(ws.scope):
            # Another site's page (cross-site WebSocket hijacking): 403 naming the header.
            await ws.send_denial_response(
                error_response(403, "forbidden", FOREIGN_ORIGIN, field="Origin")
            )
            return
        if not guard.websocket(ws):
            await ws.close(code=1008)  # before accept: the handshake is refused with HTTP 403
            return
        protocol = SUBPROTOCOL if SUBPROTOCOL in offered_protocols(ws) else None
        await ws.accept(subprotocol=protocol)

        async def push() -> None:
            with monitor().subscribe() as queue:
                if monitor().latest is not None:
                    await ws.send_json(finite(monitor().latest))
                while True:
                    await ws.send_json(finite(await queue.get()))

        async def listen() -> None:
            while (await ws.receive())["type"] != "websocket.disconnect":
                pass  # the page sends nothing; anything it sends is ignored

        tasks = {asyncio.create_task(push()), asyncio.create_task(listen())}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                # A page that went away makes the pending send fail: that is its goodbye.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    return app
