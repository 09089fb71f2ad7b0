"""What the api's routes get through Depends: the gateway (settings, clients, metrics), the
answer cache, the jobs, the request's deadline.

Every dependency here is `async def`: FastAPI runs a plain `def` dependency in the thread
pool, a thread hop per request for what is an attribute read.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from sutra.api.cache import ReasonCache
from sutra.api.deadline import SCOPE_KEY, Deadline
from sutra.api.gateway import Gateway
from sutra.api.jobs.service import Jobs


async def get_gateway(request: Request) -> Gateway:
    gateway = getattr(request.app.state, "gateway", None)
    if not isinstance(gateway, Gateway):
        raise RuntimeError("the app has no Gateway (sutra.api.app registers it)")
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_cache(gateway: GatewayDep) -> ReasonCache:
    return gateway.cache


async def get_jobs(request: Request) -> Jobs:
    jobs = getattr(request.app.state, "jobs", None)
    if not isinstance(jobs, Jobs):
        raise RuntimeError("the app has no Jobs (sutra.api.app registers them)")
    return jobs


async def request_deadline(request: Request) -> Deadline:
    """The deadline `DeadlineMiddleware` started for this request (no OpenAPI parameter)."""
    deadline = request.scope.get(SCOPE_KEY)
    if not isinstance(deadline, Deadline):
        raise RuntimeError("DeadlineMiddleware is not installed")
    return deadline


CacheDep = Annotated[ReasonCache, Depends(get_cache)]
JobsDep = Annotated[Jobs, Depends(get_jobs)]
RequestDeadline = Annotated[Deadline, Depends(request_deadline)]
