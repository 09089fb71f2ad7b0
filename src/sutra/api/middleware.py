"""Pure ASGI middleware: request metrics and the request body limit.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, which runs each request through
extra tasks and memory streams: on a gateway whose cheapest answers take well under a
millisecond, that overhead would be most of the cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sutra.api.metrics import ApiMetrics
from sutra.common.http import error_response

_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


class RouteNames:
    """The route template of a request (`/concepts/{concept_id}`), a bounded metric label."""

    def __init__(self, routes: Callable[[], list[Any]]) -> None:
        self._routes = routes

    def __call__(self, scope: Scope) -> str:
        name = getattr(scope.get("route"), "path", None)  # set by FastAPI's routing
        if isinstance(name, str):
            return name
        # Answered before routing (e.g. 413): match the path against the routes.
        for route in self._routes():
            if isinstance(route, Route) and route.matches(scope)[0] is not Match.NONE:
                return route.path
        return "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: ApiMetrics, route_names: RouteNames) -> None:
        self.app = app
        self.metrics = metrics
        self.route_names = route_names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.observe_request(
                self.route_names(scope), method, status, time.perf_counter() - started
            )


class BodyLimitMiddleware:
    """Refuse a request body over `max_bytes` with 413, before any of it is parsed.

    A declared Content-Length is checked at once; a chunked body is read up to the limit
    and then handed on, so an endless upload costs at most `max_bytes` of memory.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> Any:
        return error_response(
            413,
            "payload_too_large",
            f"request body is larger than {self.max_bytes} bytes (SUTRA_MAX_BODY_BYTES)",
            field="body",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        length = None
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = value
                break
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = self.max_bytes + 1
            if declared > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        # No Content-Length: buffer up to the limit, then replay the body.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
