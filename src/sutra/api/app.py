"""The sutra-api application: `create_app(settings)` gives the ASGI app (FastAPI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from sutra import __version__
from sutra.api.deadline import DeadlineMiddleware
from sutra.api.gateway import Gateway
from sutra.api.jobs.router import job_routes
from sutra.api.jobs.service import Jobs
from sutra.api.jobs.spool import BodyLimitExceptUploads
from sutra.api.metrics import ApiMetrics
from sutra.api.middleware import MetricsMiddleware, RouteNames
from sutra.api.models import vector_search_request
from sutra.api.ratelimit import RateLimitMiddleware
from sutra.api.routers import concepts, learn, operations, reason, search
from sutra.api.settings import ApiSettings
from sutra.common import tracing
from sutra.common.http import install_error_handlers
from sutra.common.routing import serve_routers

DESCRIPTION = """\
The public REST API of Sutra: teach it facts in plain language, ask it questions, and get
answers with the reasoning paths that explain them.

Every error, whatever the status, has one body: `{"error": {"status", "code", "message",
"field"?, "dependency"?}}`; `field` names the request field at fault, `dependency` the
service that is unavailable. 429 and 503 carry `Retry-After`.

Every operation except `/health`, `/ready` and `/metrics` is rate limited per client, and
every number, list and text in a request has an upper bound, given in its description.

Every request has a time budget from its arrival (e.g. 2 s for /reason); when it runs out
the answer is 504 naming the dependency that did not answer in time. A dependency that keeps
failing or answering slowly is not called for a while (503 naming it, with Retry-After).
"""


_CONCEPT_ID_ERRORS = {"string_pattern_mismatch", "string_too_short", "string_too_long"}


def explain_invalid(field: str, error: dict[str, Any]) -> str | None:
    """Say the concept id rule in words rather than as a regular expression."""
    if field == "concept_id" and error.get("type") in _CONCEPT_ID_ERRORS:
        return "must be 32 hex characters"
    return None


def create_app(
    settings: ApiSettings | None = None, *, metrics: ApiMetrics | None = None
) -> FastAPI:
    settings = settings or ApiSettings()
    tracing.configure("sutra-api")  # before the clients are made: they trace when it is on
    gateway = Gateway(settings, metrics)
    jobs = Jobs(settings, gateway)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await gateway.start()
        await jobs.start()
        try:
            yield
        finally:
            await jobs.stop()
            await gateway.stop()

    app = FastAPI(
        title="Sutra API",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        telemetry=tracing.fastapi_telemetry(),
    )
    app.state.gateway = gateway
    app.state.jobs = jobs
    install_error_handlers(app, explain_invalid)

    # Most frequent first: a request is routed by trying the routes in order.
    serve_routers(
        app,
        operations.router,
        concepts.router,
        search.vector_router(vector_search_request(settings.vector_dimension)),
        reason.router,
        search.router,
        learn.router,
        job_routes(settings.jobs_max_upload_bytes),
    )
    # add_middleware wraps: the last added is outermost, so metrics also see 413s and 429s,
    # a client over its rate limit is refused before its body is read, and a request's
    # deadline starts before anything else is done with it.
    # The bulk upload streams to disk under its own limit (sutra.api.jobs.spool).
    app.add_middleware(BodyLimitExceptUploads, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, limiter=gateway.limiter)
    app.add_middleware(
        MetricsMiddleware, metrics=gateway.metrics, route_names=RouteNames(lambda: app.routes)
    )
    app.add_middleware(DeadlineMiddleware, budgets=settings.budgets())
    return app
