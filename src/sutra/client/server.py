"""The local server of the UI: the bundle from memory, `/api/*` proxied to sutra-api.

It answers exactly as the image's nginx does (images/sutra-client/), so what the browser tests
see locally is what Kubernetes serves: the same security headers on every response, the same
Cache-Control per file, `/api/<path>` forwarded to `SUTRA_API_URL/<path>` (the path as the
caller encoded it) with the caller as the one X-Forwarded-For entry, a JSON 413 over the body
limit, a JSON 502 when the API cannot be reached, and `/health` answering 200 without asking the
API (the UI can show its own "API down" state).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import quote

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sutra.client.bundle import INDEX, build, content_type
from sutra.client.headers import cache_control, security_headers
from sutra.client.settings import ClientSettings
from sutra.common.security_headers import SecurityHeaders

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


# Characters a path keeps as they are when it is passed on (RFC 3986 pchar and "/", and "%"
# so that the caller's own escapes stay escapes); anything else is escaped byte by byte.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def proxy_error(status: int, code: str, message: str, *, field: str | None = None) -> JSONResponse:
    """The API's own error shape, so the page reads one shape whoever answered: a request
    field at fault (4xx), or sutra-api as the dependency that failed (5xx)."""
    body: dict[str, object] = {"status": status, "code": code, "message": message}
    if field is not None:
        body["field"] = field
    else:
        body["dependency"] = "sutra-api"
    return JSONResponse({"error": body}, status_code=status)


def upstream_url(api_url: str, request: Request) -> str:
    """`api_url` + the request's path after /api, as the caller encoded it, + its query.

    The raw path, not the decoded one: `%3F` or `%23` decoded would turn part of the path into
    a query or a fragment, and `%2F` into a separator. Should the raw path not spell /api/
    literally (`/%61pi/...`), the decoded rest is encoded again.
    """
    raw: bytes = request.scope.get("raw_path") or b""
    if raw.startswith(b"/api/"):
        rest = quote(raw[len(b"/api") :], safe=_PATH_SAFE)
    else:
        rest = quote("/" + request.path_params["path"], safe=_PATH_SAFE.rstrip("%"))
    query: bytes = request.scope.get("query_string", b"")
    return f"{api_url}{rest}" + (f"?{query.decode('latin-1')}" if query else "")


def too_large(limit: int) -> JSONResponse:
    message = f"the request body is over the limit of {limit} bytes"
    return proxy_error(413, "payload_too_large", message, field="body")


async def read_body(request: Request, limit: int) -> bytes | Response:
    """The body, or the 413 as soon as it is known to be over `limit`: from Content-Length
    before anything is read, else by counting while it arrives (chunked)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            message = "Content-Length: not a number of bytes"
            return proxy_error(400, "bad_request", message, field="Content-Length")
        if int(declared) > limit:
            return too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


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
        body = await read_body(request, settings.max_body_bytes)
        if isinstance(body, Response):
            return body
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        # Nobody stands in front of this server (local runs): the caller is the peer, and only
        # the peer. Passing on an X-Forwarded-For the caller wrote would let it pick its own
        # rate-limit bucket at sutra-api, which takes the last entry as the client.
        headers["x-forwarded-for"] = request.client.host if request.client else ""
        headers["x-forwarded-proto"] = request.url.scheme
        url = upstream_url(settings.api_url, request)
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
