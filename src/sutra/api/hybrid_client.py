"""The gateway's client of sutra-hybrid: one pooled httpx.AsyncClient, a deadline per call.

Each call waits `timeout` seconds at most and tells hybrid so in `X-Sutra-Deadline-Ms`
(`sutra.api.deadline`), which bounds hybrid's own work and storage calls.

The bodies both ways are the wire contract's models (`sutra.common.contract`); hybrid's
answers are turned into what the gateway tells its own clients:
- 2xx: the body, parsed as the contract's reply model (a body that does not parse is
  hybrid failing: `DependencyFailure`);
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
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from sutra.api.breaker import DependencyFailure
from sutra.api.deadline import DEADLINE_HEADER, propagated_ms
from sutra.common import contract as c
from sutra.common import tracing
from sutra.common.http import ServiceError, deadline_exceeded, unavailable

DEPENDENCY = "hybrid"
Reply = TypeVar("Reply", bound=BaseModel)
_JSON = {"content-type": "application/json"}

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
        reply: type[Reply],
        *,
        body: BaseModel | None = None,
        timeout: float | None = None,
    ) -> Reply:
        """`body` to hybrid's `path`, its answer parsed as `reply`, within `timeout` s."""
        deadline = timeout or self.timeout
        headers = {DEADLINE_HEADER: str(propagated_ms(deadline))}
        content = None
        if body is not None:
            content = body.model_dump_json(exclude_none=True)
            headers.update(_JSON)
        try:
            response = await self._client.request(
                method, path, content=content, timeout=deadline, headers=headers
            )
        except httpx.TimeoutException:
            raise DependencyFailure(
                deadline_exceeded(
                    f"{DEPENDENCY} ({self.base_url}) gave no answer within {deadline:g} s",
                    dependency=DEPENDENCY,
                )
            ) from None
        except httpx.HTTPError as exc:
            raise DependencyFailure(
                unavailable(
                    DEPENDENCY,
                    f"{DEPENDENCY} unavailable: {self.base_url} is unreachable "
                    f"({type(exc).__name__})",
                )
            ) from None
        if response.status_code >= 400:
            raise self._error(response, path)
        return self._parsed(response, path, reply)

    @staticmethod
    def _parsed(response: httpx.Response, path: str, reply: type[Reply]) -> Reply:
        try:
            return reply.model_validate_json(response.content)
        except ValidationError as exc:
            first = exc.errors()[0] if exc.errors() else {}
            where = ".".join(str(p) for p in first.get("loc", ())) or "body"
            raise DependencyFailure(
                unavailable(
                    DEPENDENCY,
                    f"{DEPENDENCY} answered {path} with a body that is not a "
                    f"{reply.__name__} ({where}: {first.get('msg', 'invalid')})",
                    code="bad_dependency_response",
                    retry_after=None,
                )
            ) from None

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
            return unavailable(
                dependency,
                message,
                code=str(detail.get("code") or "unavailable"),
                retry_after=_retry_after(response) or 1,
            )
        if status == 504:
            return self._deadline_error(detail, message)
        if status >= 500 or status in (404, 405):
            # A 404 or 405 means hybrid lacks the endpoint: a broken deployment, not a bad
            # request from our client.
            return DependencyFailure(
                unavailable(
                    DEPENDENCY,
                    f"{DEPENDENCY} failed on {path} ({status}): {message}",
                    code="dependency_failed",
                )
            )
        if status == 429:
            return unavailable(
                DEPENDENCY,
                f"{DEPENDENCY} is shedding load: {message}",
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
        await self.request("GET", "/ping", _Pong, timeout=timeout)
        return True

    async def learn(self, body: c.LearnRequest, *, timeout: float | None = None) -> c.LearnResponse:
        return await self.request(
            "POST", "/sutra/learn", c.LearnResponse, body=body, timeout=timeout
        )

    async def learn_batch(
        self, body: c.LearnBatchRequest, *, timeout: float | None = None
    ) -> c.LearnBatchResponse:
        return await self.request(
            "POST", "/sutra/learn/batch", c.LearnBatchResponse, body=body, timeout=timeout
        )

    async def query(self, body: c.QueryRequest, *, timeout: float | None = None) -> c.QueryResponse:
        return await self.request(
            "POST", "/sutra/query", c.QueryResponse, body=body, timeout=timeout
        )

    async def search(
        self, body: c.SearchRequest, *, timeout: float | None = None
    ) -> c.SearchResponse:
        return await self.request(
            "POST", "/sutra/search", c.SearchResponse, body=body, timeout=timeout
        )


class _Pong(BaseModel):
    status: str
