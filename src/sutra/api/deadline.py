"""Request deadlines: each request gets a time budget when it arrives, and every call it makes
downstream gets at most what is left of it.

Without this, each call waited for its own timeout (up to 15 s for /reason), so a dependency
that hung held every request for that long, whatever the client was prepared to wait. Now
`DeadlineMiddleware` starts the clock when the request arrives, with the budget of its route
group (SUTRA_BUDGET_*_SECONDS, groups as in `sutra.api.ratelimit.group_of`), and each call
gets `min(its own cap, the budget left)`. A request whose budget is gone before a call is
answered 504 `deadline_exceeded` naming the dependency it could not call.

The budget travels to sutra-hybrid in `X-Sutra-Deadline-Ms`: the milliseconds the gateway
will wait for this call, counted from when hybrid receives it (like gRPC's `grpc-timeout`).
Relative, not an absolute time, because the gateway's and hybrid's clocks are in different
pods and may disagree by more than a whole budget; a relative budget is only off by the time
in transit, which `propagated_ms` covers by sending a little less than the gateway waits, so
that hybrid's own 504 (naming what was slow) arrives before the gateway gives up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from starlette.types import ASGIApp, Receive, Scope, Send

from sutra.api.ratelimit import DEFAULT_GROUP, group_of
from sutra.common.http import ServiceError

DEADLINE_HEADER = "X-Sutra-Deadline-Ms"
SCOPE_KEY = "sutra.deadline"
# A call with less than this left could not even be sent: answer 504 without making it.
MIN_CALL_SECONDS = 0.001
# What the propagated budget keeps back for the answer's way home: 10 %, at most 100 ms.
_MARGIN_SHARE, _MARGIN_MAX = 0.1, 0.1
# What the gateway's own wait keeps back for writing its answer, so that a request cut by its
# deadline is answered within the budget, not a few milliseconds after it: 5 %, at most 20 ms.
_REPLY_SHARE, _REPLY_MAX = 0.05, 0.02


class Deadline:
    """The time budget of one request, counted from its arrival."""

    __slots__ = ("_clock", "budget", "expires", "group")

    def __init__(
        self,
        budget: float,
        *,
        group: str = DEFAULT_GROUP,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget = budget
        self.group = group
        self._clock = clock
        self.expires = clock() + budget - min(budget * _REPLY_SHARE, _REPLY_MAX)

    def remaining(self) -> float:
        return self.expires - self._clock()

    def timeout(self, cap: float, dependency: str) -> float:
        """Seconds a call to `dependency` may take: min(cap, the budget left); 504 if none is."""
        left = self.remaining()
        if left < MIN_CALL_SECONDS:
            raise self.exceeded(dependency)
        return min(cap, left)

    def exceeded(self, dependency: str) -> ServiceError:
        return ServiceError(
            504,
            "deadline_exceeded",
            f"deadline exceeded: the {self.budget:g} s budget of this {self.group} request "
            f"ran out before {dependency} could be called",
            dependency=dependency,
        )


def propagated_ms(timeout: float) -> int:
    """The X-Sutra-Deadline-Ms value for a call the gateway waits `timeout` seconds for."""
    margin = min(timeout * _MARGIN_SHARE, _MARGIN_MAX)
    return max(0, int((timeout - margin) * 1000))


class DeadlineMiddleware:
    """Start each HTTP request's clock as it arrives (before its body is read or it queues)."""

    def __init__(self, app: ASGIApp, *, budgets: Mapping[str, float]) -> None:
        self.app = app
        self.budgets = dict(budgets)
        self.default = self.budgets[DEFAULT_GROUP]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            group = group_of(scope["method"], scope["path"]) or DEFAULT_GROUP
            scope[SCOPE_KEY] = Deadline(self.budgets.get(group, self.default), group=group)
        await self.app(scope, receive, send)
