"""The gateway's client of sutra-hybrid: one pooled httpx.AsyncClient, a deadline per call.

Each call waits `timeout` seconds at most and tells hybrid so in `X-Sutra-Deadline-Ms`
(`sutra.api.deadline`), which bounds hybrid's own work and storage calls.

Hybrid's answers are turned into what the gateway tells its own clients:
- 2xx: the JSON body;
- hybrid rejected the request (4xx): the same status and error, its field renamed to the
  public API's name for it (hybrid's `text` is the API's `content`, and so on);
- hybrid is overloaded or its storage is down (503): 503 naming that dependency, with
  hybrid's Retry-After; hybrid answered, so this is not a failure of hybrid;
- hybrid's budget ran out (504): 504 naming storage when hybrid says storage did not
  answer in time (not hybrid's failure), else a `DependencyFailure` naming hybrid;
- hybrid unreachable, failing (other 5xx), without the endpoint (404, 405) or silent past
  the deadline: `DependencyFailure`, which the circuit breaker counts.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from sutra.api.breaker import DependencyFailure
from sutra.api.deadline import DEADLINE_HEADER, propagated_ms
from sutra.common import tracing
from sutra.common.http import ServiceError

DEPENDENCY = "hybrid"

_FIELD_NAMES = {"text": "content", "max_depth": "max_steps", "max_paths": "num_paths"}


def public_field(field: str | None) -> str | None:
    if not field:
        return field
    return ".".join(_FIELD_NAMES.get(part, part) for part in field.split("."))


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value and re.fullmatch(r"\d+(\.\d+)?", value.strip()):
        return float(value)
    return None


class HybridClient:
    def __init__(self, base_url: str, *, timeout: float, max_connections: int = 200) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        transport = httpx.AsyncHTTPTransport(
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            trust_env=False,
        )
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            # With tracing on, each request carries the caller's trace context (traceparent).
            transport=tracing.traced_transport(transport),
            headers={"user-agent": "sutra-api"},
            # Service-to-service calls never go through an HTTP(S)_PROXY set in the environment.
            trust_env=False,
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        timeout: float | None = None,
    ) -> Any:
        deadline = timeout or self.timeout
        headers = {DEADLINE_HEADER: str(propagated_ms(deadline))}
        try:
            response = await self._client.request(
                method, path, json=json, timeout=deadline, headers=headers
            )
        except httpx.TimeoutException:
            raise DependencyFailure(
                ServiceError(
                    504,
                    "deadline_exceeded",
                    f"deadline exceeded: {DEPENDENCY} ({self.base_url}) gave no answer within "
                    f"{deadline:g} s",
                    dependency=DEPENDENCY,
                )
            ) from None
        except httpx.HTTPError as exc:
            raise DependencyFailure(
                ServiceError(
                    503,
                    "unavailable",
                    f"{DEPENDENCY} unavailable: {self.base_url} is unreachable "
                    f"({type(exc).__name__})",
                    dependency=DEPENDENCY,
                    retry_after=1,
                )
            ) from None
        if response.status_code < 400:
            try:
                return response.json()
            except ValueError:
                raise DependencyFailure(
                    ServiceError(
                        503,
                        "bad_dependency_response",
                        f"{DEPENDENCY} answered {path} with a body that is not JSON",
                        dependency=DEPENDENCY,
                    )
                ) from None
        raise self._error(response, path)

    def _error(self, response: httpx.Response, path: str) -> Exception:
        status = response.status_code
        try:
            detail = response.json().get("error", {})
            if not isinstance(detail, dict):
                detail = {}
        except (ValueError, AttributeError):
            detail = {}
        message = str(detail.get("message") or f"{DEPENDENCY} answered {path} with {status}")
        if status == 503:
            # Storage is a dependency of the API too; anything else (the embedder, the
            # embedding queue) is part of hybrid as far as the API's clients are concerned.
            dependency = "storage" if detail.get("dependency") == "storage" else DEPENDENCY
            if not message.startswith(dependency):
                message = f"{dependency}: {message}"
            return ServiceError(
                503,
                str(detail.get("code") or "unavailable"),
                message,
                dependency=dependency,
                retry_after=_retry_after(response) or 1,
            )
        if status == 504:
            return self._deadline_error(detail, message)
        if status >= 500 or status in (404, 405):
            # A 404 or 405 means hybrid lacks the endpoint: a broken deployment, not a bad
            # request from our client.
            return DependencyFailure(
                ServiceError(
                    503,
                    "dependency_failed",
                    f"{DEPENDENCY} failed on {path} ({status}): {message}",
                    dependency=DEPENDENCY,
                    retry_after=1,
                )
            )
        if status == 429:
            return ServiceError(
                503,
                "unavailable",
                f"{DEPENDENCY} is shedding load: {message}",
                dependency=DEPENDENCY,
                retry_after=_retry_after(response) or 1,
            )
        field = public_field(detail.get("field"))
        if field and message.startswith(f"{detail.get('field')}:"):
            message = f"{field}:{message.split(':', 1)[1]}"
        return ServiceError(
            status if status in (413, 422) else 422,
            str(detail.get("code") or "invalid_request"),
            message,
            field=field,
        )

    @staticmethod
    def _deadline_error(detail: dict[str, Any], message: str) -> Exception:
        """Hybrid's 504: storage's fault when it names storage, else hybrid's own."""
        if not message.startswith("deadline exceeded"):
            message = f"deadline exceeded: {message}"
        if detail.get("dependency") == "storage":
            message = f"storage (through hybrid): {message}"
            return ServiceError(504, "deadline_exceeded", message, dependency="storage")
        message = f"{DEPENDENCY}: {message}"
        return DependencyFailure(
            ServiceError(504, "deadline_exceeded", message, dependency=DEPENDENCY)
        )

    async def ping(self, *, timeout: float | None = None) -> bool:
        await self.request("GET", "/ping", timeout=timeout)
        return True

    async def learn(self, body: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        return await self.request("POST", "/sutra/learn", json=body, timeout=timeout)

    async def learn_batch(
        self, body: dict[str, Any], *, timeout: float | None = None
    ) -> dict[str, Any]:
        return await self.request("POST", "/sutra/learn/batch", json=body, timeout=timeout)

    async def query(self, body: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        return await self.request("POST", "/sutra/query", json=body, timeout=timeout)

    async def search(self, body: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        return await self.request("POST", "/sutra/search", json=body, timeout=timeout)
