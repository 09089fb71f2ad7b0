"""What hybrid's routes get through Depends: the service object and the request's deadline.

Both `async def`: FastAPI runs a plain `def` dependency in the thread pool, a thread hop per
request for what is an attribute read.
"""

from __future__ import annotations

import re
import time
from typing import Annotated

from fastapi import Depends, Request

from sutra.common.http import ServiceError
from sutra.hybrid.service import Hybrid

DEADLINE_HEADER = "X-Sutra-Deadline-Ms"
ARRIVED = "sutra.arrived"  # scope key: when the request arrived (time.monotonic())
_MILLISECONDS = re.compile(r"\s*(\d{1,9})\s*")


async def get_hybrid(request: Request) -> Hybrid:
    hybrid = getattr(request.app.state, "hybrid", None)
    if not isinstance(hybrid, Hybrid):
        raise RuntimeError("the app has no Hybrid (sutra.hybrid.app registers it)")
    return hybrid


async def request_deadline(request: Request) -> float | None:
    """When the caller needs the answer by (time.monotonic()), from X-Sutra-Deadline-Ms;
    None without the header."""
    raw = request.headers.get(DEADLINE_HEADER)
    if raw is None:
        return None
    match = _MILLISECONDS.fullmatch(raw)
    if match is None:
        raise ServiceError(
            422,
            "invalid_request",
            f"{DEADLINE_HEADER}: expected whole milliseconds, 0 to 999999999 (got {raw[:32]!r})",
            field=DEADLINE_HEADER,
        )
    arrived = request.scope.get(ARRIVED, time.monotonic())
    return float(arrived) + int(match.group(1)) / 1000


HybridDep = Annotated[Hybrid, Depends(get_hybrid)]
Deadline = Annotated[float | None, Depends(request_deadline)]
