"""Per-resource `APIRouter` modules served as the app's own plain routes.

In this FastAPI, `app.include_router(router)` does not copy the routes: it appends one
lazy `_IncludedRouter` node, which every request to the app must match first and then
match again inside (and which is not a `starlette.routing.Route`, so the rate-limit test
that walks `app.routes` could not call it). `serve_routers` appends the routers' `APIRoute`
objects themselves, once, when the app is built: the same objects the decorators made, so
one match per request and the OpenAPI schema as the routers declare it.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.routing import BaseRoute, Route


def serve_routers(app: FastAPI, *routers: APIRouter | list[BaseRoute]) -> None:
    """Add each router's routes to `app`, in order (the app tries routes in order)."""
    for router in routers:
        for route in router.routes if isinstance(router, APIRouter) else router:
            if not isinstance(route, Route):
                raise TypeError(f"{route!r} is not a plain route: serve it from its own module")
            app.router.routes.append(route)
