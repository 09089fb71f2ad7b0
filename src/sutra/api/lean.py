"""A lean request handler for the hottest read routes, beside FastAPI's own.

FastAPI's handler solves each request's parameters and dependencies through its general
machinery (models of every parameter, dependency cache keys, exit stacks, telemetry hooks):
on `GET /concepts/{id}`, whose own work is one storage read, that was a third of the api's
CPU. `serve_lean` puts a plain ASGI app in front of such a route: a request that `plain`
recognises as well formed (e.g. a 32-hex id and no query string, or one it knows) is
answered by calling the endpoint itself, with the route's dependencies resolved directly, and
its answer validated and serialised by the route's response model once, as FastAPI does.
Every other request (a bad id, an unknown or odd query parameter) goes to FastAPI's handler,
so validation errors, defaults and the OpenAPI schema stay exactly FastAPI's.

Only a route whose dependencies are `async def f(request)` (no sub-dependencies, no yield,
no Response or BackgroundTasks parameter) can be served this way; anything else is refused
when `serve_lean` is called. While tracing is on, or dependencies are overridden, every request
takes FastAPI's handler (its spans, the overrides).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from sutra.common import tracing

#: From a request's scope, the endpoint's own arguments when the request is plain (known
#: well formed); None sends it to FastAPI's handler.
Plain = Callable[[Scope], dict[str, Any] | None]


def _request_only(dependency: Any) -> Callable[[Request], Any]:
    """The dependency's function, if it is an `async def f(request)` and nothing more."""
    call = dependency.call
    simple = (
        inspect.iscoroutinefunction(call)
        and not dependency.dependencies
        and dependency.request_param_name is not None
        and len(inspect.signature(call).parameters) == 1
    )
    if not simple:
        raise TypeError(f"{dependency.name}: a lean route's dependencies take the request only")
    return call


def serve_lean(router: APIRouter, path: str, plain: Plain) -> None:
    """Answer the plain requests of `router`'s GET `path` with a lean handler; the rest
    with FastAPI's."""
    route = next(
        r
        for r in router.routes
        if isinstance(r, APIRoute) and r.path == path and "GET" in r.methods
    )
    dependant = route.dependant
    if dependant.body_params or dependant.response_param_name or dependant.request_param_name:
        raise TypeError(f"{route.path}: a lean route reads no body, Request or Response")
    if dependant.background_tasks_param_name or not inspect.iscoroutinefunction(route.endpoint):
        raise TypeError(f"{route.path}: a lean route is an async def without background tasks")
    depends = {d.name: _request_only(d) for d in dependant.dependencies}
    endpoint = route.endpoint
    model = TypeAdapter(route.response_model)
    exclude_none = route.response_model_exclude_none
    status = route.status_code or 200
    full = route.app

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        args = plain(scope)
        if args is None or tracing.active() or scope["app"].dependency_overrides:
            await full(scope, receive, send)
            return
        request = Request(scope, receive, send)
        for name, call in depends.items():
            args[name] = await call(request)
        answer = model.validate_python(await endpoint(**args))
        body = model.dump_json(answer, exclude_none=exclude_none)
        await Response(body, status_code=status, media_type="application/json")(
            scope, receive, send
        )

    route.app = app
