"""Storage calls as the gateway makes them: within the request's deadline, through the
storage guard (breaker and bulkhead), errors as HTTP errors.

A storage error that shows the server answered (bad argument, not found, write queue
full) becomes the matching HTTP error and does not count against the breaker; an
unreachable or silent server is a `DependencyFailure`, which does.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sutra.api.breaker import DependencyFailure
from sutra.api.deadline import Deadline
from sutra.api.guard import Guard
from sutra.api.metrics import ApiMetrics
from sutra.common.http import ServiceError
from sutra.storage.aio import AsyncStorageClient
from sutra.storage.errors import (
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    StorageError,
)

DEPENDENCY = "storage"
T = TypeVar("T")


def _field_of(message: str, default: str) -> str:
    """The request field a storage InvalidArgument message is about, in API terms."""
    head = message.split(" ", 1)[0]
    return {"query_vector": "vector", "k": "k", "concept_id": "concept_id"}.get(head, default)


class StorageGateway:
    def __init__(self, client: AsyncStorageClient, guard: Guard, metrics: ApiMetrics) -> None:
        self.client = client
        self.guard = guard
        self.metrics = metrics
        self._timers: dict[str, Any] = {}  # operation -> its downstream histogram child

    def _timer(self, operation: str) -> Any:
        timer = self._timers.get(operation)
        if timer is None:
            timer = self.metrics.downstream.labels(dependency=DEPENDENCY, operation=operation)
            self._timers[operation] = timer
        return timer

    async def call(
        self,
        operation: str,
        fn: Callable[[float], Awaitable[T]],
        deadline: Deadline,
        *,
        field: str = "body",
    ) -> T:
        """`fn(timeout)`, given min(the client's timeout, the request's budget left)."""
        timeout = self.guard.timeout(deadline, self.client.timeout)

        async def attempt() -> T:
            started = time.perf_counter()
            try:
                return await fn(timeout)
            except InvalidArgument as exc:
                raise ServiceError(
                    422, "invalid_request", exc.message, field=_field_of(exc.message, field)
                ) from None
            except NotFound as exc:
                raise ServiceError(404, "not_found", exc.message, field=field) from None
            except ResourceExhausted as exc:
                raise ServiceError(
                    503,
                    "overloaded",
                    f"storage: {exc.message}",
                    dependency=DEPENDENCY,
                    retry_after=1,
                ) from None
            except DeadlineExceeded as exc:
                raise DependencyFailure(
                    ServiceError(
                        504,
                        "deadline_exceeded",
                        f"storage: deadline exceeded: {exc.message}",
                        dependency=DEPENDENCY,
                    )
                ) from None
            except StorageError as exc:
                raise DependencyFailure(
                    ServiceError(
                        503,
                        "unavailable",
                        f"storage: {exc.message}",
                        dependency=DEPENDENCY,
                        retry_after=1,
                    )
                ) from None
            finally:
                self._timer(operation).observe(time.perf_counter() - started)

        return await self.guard.call(attempt)
