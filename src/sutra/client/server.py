"""The local server of the UI: the bundle from memory, `/api/*` proxied to sutra-api.

It answers exactly as the image's nginx does (images/sutra-client/), so what the browser tests
see locally is what Kubernetes serves: the same security headers on every response, the same
Cache-Control per file, `/api/<path>` forwarded to `SUTRA_API_URL/<path>` with the caller in
X-Forwarded-For, a JSON 502 when the API cannot be reached, and `/health` answering 200 without
asking the API (the UI can show its own "API down" state).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sutra.client.bundle import INDEX, build, content_type
from sutra.client.headers import cache_control, security_headers
from sutra.client.settings import ClientSettings

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "content-encoding",
}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def proxy_error(status: int, code: str, message: str) -> JSONResponse:
    """The API's own error shape, so the page reads one shape whoever answered."""
    body = {"status": status, "code": code, "message": message, "dependency": "sutra-api"}
    return JSONResponse({"error": body}, status_code=status)


class SecurityHeaders:
    """Adds the security headers to every response, errors and proxied answers included."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.names = {k for k, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k not in self.names]
                message["headers"] = kept + self.headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(settings: ClientSettings | None = None) -> Starlette:
    settings = settings or ClientSettings()
    bundle = build(settings.api_base)
    etags = {p: '"' + hashlib.sha256(b).hexdigest()[:20] + '"' for p, b in bundle.files.items()}
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(
            timeout=settings.proxy_timeout, follow_redirects=False, trust_env=False
        ) as client:
            state["client"] = client
            yield

    async def health(_: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def static(request: Request) -> Response:
        path = request.path_params["path"] or INDEX
        body = bundle.files.get(path)
        if body is None:
            return PlainTextResponse("not found\n", status_code=404)
        headers = {"Cache-Control": cache_control(path), "ETag": etags[path]}
        if request.headers.get("if-none-match") == etags[path]:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=content_type(path), headers=headers)

    async def proxy(request: Request) -> Response:
        url = f"{settings.api_url}/{request.path_params['path']}"
        if request.url.query:
            url += f"?{request.url.query}"
        body = await request.body()
        if len(body) > settings.max_body_bytes:
            return proxy_error(413, "payload_too_large", "the request body is over the limit")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        peer = request.client.host if request.client else ""
        forwarded = request.headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = f"{forwarded}, {peer}" if forwarded else peer
        headers["x-forwarded-proto"] = request.url.scheme
        try:
            answer = await state["client"].request(
                request.method, url, headers=headers, content=body
            )
        except httpx.TimeoutException:
            return proxy_error(504, "api_timeout", "sutra-api did not answer in time")
        except httpx.TransportError as exc:
            return proxy_error(502, "api_unreachable", f"sutra-api cannot be reached ({exc})")
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        return Response(answer.content, status_code=answer.status_code, headers=kept)

    async def no_api_root(_: Request) -> Response:
        return PlainTextResponse("not found\n", status_code=404)

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET", "HEAD"]),
            Route("/api/{path:path}", proxy, methods=METHODS),
            Route("/api", no_api_root, methods=METHODS),
            Route("/{path:path}", static, methods=["GET", "HEAD"]),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(SecurityHeaders, headers=security_headers(settings.api_base))
    return app
