"""/health, /ready and /metrics: what the kubelet and Prometheus call (never rate limited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sutra import __version__
from sutra.api import models as m
from sutra.api.deps import GatewayDep
from sutra.api.routers.errors import errors
from sutra.common.http import error_response

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=m.HealthResponse)
async def health(gw: GatewayDep) -> m.HealthResponse:
    """Liveness: the process serves requests (dependencies are not checked)."""
    return m.HealthResponse(status="ok", version=__version__, uptime_seconds=gw.uptime())


@router.get("/ready", response_model=m.ReadyResponse, responses=errors(503))
async def ready(gw: GatewayDep) -> Any:
    """Readiness: storage answers and its circuit breaker is closed. Hybrid's state is
    reported, not required: while it is down this pod still serves reads, stats and cached
    answers, which it could not if Kubernetes took every API pod out of the Service."""
    problems = await gw.readiness()
    if why := problems["storage"]:
        return error_response(
            503,
            "not_ready",
            f"storage: {why.removeprefix('storage: ')}",
            dependency="storage",
            retry_after=max(gw.storage_breaker.retry_after(), 1),
        )
    return {
        "status": "ready",
        "dependencies": {name: why or "ok" for name, why in problems.items()},
        "degraded": sorted(name for name, why in problems.items() if why),
        "breakers": {"storage": gw.storage_guard.report(), "hybrid": gw.hybrid_guard.report()},
    }


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {}}}},
)
async def metrics(gw: GatewayDep) -> Response:
    """Prometheus metrics (text exposition format)."""
    return Response(generate_latest(gw.metrics.registry), media_type=CONTENT_TYPE_LATEST)
