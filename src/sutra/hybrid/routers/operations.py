"""/ping, /health, /ready and /metrics: what the api, the kubelet and Prometheus call."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from sutra import __version__
from sutra.common.contract import HealthResponse
from sutra.common.http import ERROR_RESPONSES
from sutra.hybrid.deps import HybridDep

router = APIRouter()


@router.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health", response_model=HealthResponse)
async def health(hybrid: HybridDep) -> HealthResponse:
    uptime = round(time.monotonic() - hybrid.started, 3)
    return HealthResponse(status="ok", version=__version__, uptime_seconds=uptime)


@router.get("/ready", responses={503: ERROR_RESPONSES[503]})
async def ready(hybrid: HybridDep) -> dict[str, Any]:
    # The loop's default executor, not the request pool: a probe must not queue behind
    # slow queries.
    await asyncio.to_thread(hybrid.ready)
    return {"status": "ready", "dependencies": {"storage": "ok"}, "device": hybrid.device}


@router.get("/metrics", response_class=PlainTextResponse)
async def prometheus(hybrid: HybridDep) -> PlainTextResponse:
    registry = hybrid.metrics.registry
    return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
