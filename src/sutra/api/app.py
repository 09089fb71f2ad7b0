"""The sutra-api application: `create_app(settings)` gives the ASGI app (FastAPI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sutra import __version__
from sutra.api.gateway import Gateway
from sutra.api.metrics import ApiMetrics
from sutra.api.middleware import BodyLimitMiddleware, MetricsMiddleware, RouteNames
from sutra.api.models import vector_search_request
from sutra.api.ratelimit import RateLimitMiddleware
from sutra.api.routes import add_routes
from sutra.api.settings import ApiSettings
from sutra.common.http import _HTTP_CODES, error_response, install_error_handlers

DESCRIPTION = """\
The public REST API of Sutra: teach it facts in plain language, ask it questions, and get
answers with the reasoning paths that explain them.

Every error, whatever the status, has one body: `{"error": {"status", "code", "message",
"field"?, "dependency"?}}`; `field` names the request field at fault, `dependency` the
service that is unavailable. 429 and 503 carry `Retry-After`.
"""


def create_app(
    settings: ApiSettings | None = None, *, metrics: ApiMetrics | None = None
) -> FastAPI:
    settings = settings or ApiSettings()
    gateway = Gateway(settings, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(
        title="Sutra API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.gateway = gateway
    install_error_handlers(app)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        # As the shared handler, but keeping the exception's headers: a 405 must say which
        # methods are allowed (RFC 9110 `Allow`).
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        response = error_response(exc.status_code, code, message)
        response.headers.update(exc.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # As the shared handler, but a path or query parameter is named as clients write it
        # (`concept_id`, not `path.concept_id`) and the id rule is said in words.
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        loc = [str(p) for p in first.get("loc", ())]
        if loc and loc[0] in ("body", "path", "query", "header"):
            loc = loc[1:]
        field = ".".join(loc) or "body"
        message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
        if field == "concept_id" and first.get("type") == "string_pattern_mismatch":
            message = "must be 32 hex characters"
        return error_response(422, "invalid_request", f"{field}: {message}", field=field)

    add_routes(app, gateway, vector_search_request(settings.vector_dimension))
    # add_middleware wraps: the last added is outermost, so metrics also see 413s and 429s,
    # and a client over its rate limit is refused before its body is read.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, limiter=gateway.limiter)
    app.add_middleware(
        MetricsMiddleware, metrics=gateway.metrics, route_names=RouteNames(lambda: app.routes)
    )
    return app
