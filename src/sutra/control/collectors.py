"""Readings: one round of questions to one service, each bounded by a deadline.

A collector never raises: a service that is down, slow or answering nonsense yields a
`Reading` with `live=False` and the reason in words, so one dead service costs the round at
most its deadline and the dashboard keeps updating for the others.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from sutra.control.scrape import Scrape
from sutra.storage.aio import AsyncStorageClient
from sutra.storage.client import RetryPolicy
from sutra.storage.errors import StorageError
from sutra.storage.model import Stats


@dataclass
class Reading:
    """What one service said in one round."""

    name: str
    target: str
    live: bool
    ready: bool
    reason: str | None
    latency_ms: float | None = None
    scrape: Scrape | None = None
    stats: Stats | None = None

    @property
    def status(self) -> str:
        """`up` (live and ready), `degraded` (live, not ready) or `down`."""
        if not self.live:
            return "down"
        return "up" if self.ready else "degraded"


class Collector(Protocol):
    name: str
    target: str

    async def read(self) -> Reading: ...

    async def close(self) -> None: ...


def describe_http_error(url: str, exc: BaseException, timeout: float) -> str:
    """An httpx failure in a few words an operator can act on."""
    if isinstance(exc, httpx.TimeoutException):
        return f"{url}: no answer within {timeout:g} s"
    if isinstance(exc, httpx.ConnectError):
        detail = str(exc) or "connection failed"
        return f"{url}: cannot connect ({detail})"
    return f"{url}: {type(exc).__name__}: {exc}"


def _error_message(response: httpx.Response) -> str:
    """The `error.message` of the services' error body, else the status line."""
    try:
        message = response.json()["error"]["message"]
        if isinstance(message, str) and message:
            return message
    except (ValueError, KeyError, TypeError):
        pass
    return f"HTTP {response.status_code}"


class HttpCollector:
    """An HTTP service: GET /health (liveness), /ready (readiness) and /metrics, side by side."""

    def __init__(
        self,
        name: str,
        base_url: str,
        client: httpx.AsyncClient,
        timeout: float,
        *,
        ready_path: str | None = "/ready",
        metrics_path: str | None = "/metrics",
    ) -> None:
        self.name = name
        self.target = base_url
        self.client = client
        self.timeout = timeout
        self.ready_path = ready_path
        self.metrics_path = metrics_path

    async def _get(self, path: str) -> httpx.Response:
        return await self.client.get(self.target + path, timeout=self.timeout)

    async def read(self) -> Reading:
        started = time.perf_counter()
        paths = ["/health", self.ready_path, self.metrics_path]
        answers = await asyncio.gather(
            *(self._get(p) for p in paths if p is not None), return_exceptions=True
        )
        replies = dict(zip([p for p in paths if p is not None], answers, strict=True))
        health = replies["/health"]
        if isinstance(health, BaseException):
            reason = describe_http_error(self.target + "/health", health, self.timeout)
            return Reading(self.name, self.target, live=False, ready=False, reason=reason)
        latency = (time.perf_counter() - started) * 1000
        if health.status_code != 200:
            reason = f"/health answered {health.status_code}: {_error_message(health)}"
            return Reading(self.name, self.target, False, False, reason, latency)

        reasons: list[str] = []
        ready = True
        if self.ready_path is not None:
            answer = replies[self.ready_path]
            if isinstance(answer, BaseException):
                ready = False
                reasons.append(describe_http_error(self.ready_path, answer, self.timeout))
            elif answer.status_code != 200:
                ready = False
                reasons.append(f"not ready: {_error_message(answer)}")
        scrape = None
        if (path := self.metrics_path) is not None:
            scrape = read_scrape(path, replies[path], self.timeout, reasons)
        return Reading(
            self.name,
            self.target,
            live=True,
            ready=ready,
            reason="; ".join(reasons) or None,
            latency_ms=latency,
            scrape=scrape,
        )

    async def close(self) -> None:
        """The HTTP client is shared and closed by its owner."""


def read_scrape(
    where: str,
    answer: httpx.Response | BaseException,
    timeout: float,
    reasons: list[str],
) -> Scrape | None:
    """The parsed /metrics answer, or None with the reason appended to `reasons`."""
    if isinstance(answer, BaseException):
        reasons.append(describe_http_error(where, answer, timeout))
    elif answer.status_code != 200:
        reasons.append(f"{where} answered HTTP {answer.status_code}")
    else:
        try:
            return Scrape(answer.text)
        except ValueError as exc:
            reasons.append(f"{where} is not Prometheus text: {exc}")
    return None


class StorageCollector:
    """The storage server: gRPC GetStats and health, plus its Prometheus endpoint.

    Create it inside the running event loop (its gRPC channel belongs to that loop).
    """

    def __init__(
        self,
        name: str,
        address: str,
        metrics_url: str,
        client: httpx.AsyncClient,
        timeout: float,
    ) -> None:
        self.name = name
        self.target = address
        self.metrics_url = metrics_url
        self.http = client
        self.timeout = timeout
        # One try: a dashboard round must not wait out a retry backoff on a dead server.
        self.storage = AsyncStorageClient(address, timeout=timeout, retry=RetryPolicy(attempts=1))

    async def _stats(self) -> tuple[Stats, float]:
        started = time.perf_counter()
        stats = await self.storage.stats()
        return stats, (time.perf_counter() - started) * 1000

    async def read(self) -> Reading:
        stats_answer, health_answer, metrics_answer = await asyncio.gather(
            self._stats(),
            self.storage.health(),
            self.http.get(self.metrics_url, timeout=self.timeout),
            return_exceptions=True,
        )
        if isinstance(stats_answer, BaseException):
            reason = (
                stats_answer.message
                if isinstance(stats_answer, StorageError)
                else f"{type(stats_answer).__name__}: {stats_answer}"
            )
            return Reading(self.name, self.target, live=False, ready=False, reason=reason)
        stats, latency = stats_answer
        reasons: list[str] = []
        ready = health_answer is True
        if isinstance(health_answer, BaseException):
            reasons.append(f"health check failed: {health_answer}")
        elif not ready:
            reasons.append("health check answered NOT_SERVING")
        scrape = read_scrape(self.metrics_url, metrics_answer, self.timeout, reasons)
        return Reading(
            self.name,
            self.target,
            live=True,
            ready=ready,
            reason="; ".join(reasons) or None,
            latency_ms=latency,
            scrape=scrape,
            stats=stats,
        )

    async def close(self) -> None:
        await self.storage.close()


async def read_within(collector: Collector, deadline: float) -> Reading:
    """`collector.read()`, but never longer than `deadline` and never an exception."""
    try:
        return await asyncio.wait_for(collector.read(), deadline)
    except TimeoutError:
        reason = f"no answer within {deadline:g} s"
    except Exception as exc:  # a collector bug must not stop the dashboard
        reason = f"reading failed: {type(exc).__name__}: {exc}"
    return Reading(collector.name, collector.target, live=False, ready=False, reason=reason)
