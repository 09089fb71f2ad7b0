"""The sutra-hybrid service object: storage clients, embedder and worker threads.

Storage calls use the shared blocking `StorageClient` (its deadlines, retries of
idempotent reads and error mapping) and run in a bounded thread pool: one hop off the
event loop per request, inside which a query makes its handful of storage calls (the
concepts of each step in one GetConcepts, the neighbour reads of a search level side by
side). That keeps one client and one error model for every service, and the loop
free for other requests, without a second async gRPC client to keep in step with it.
Embedding happens in the micro-batching worker (`batching`), called from those threads.

Deadlines. A caller may send `X-Sutra-Deadline-Ms`: how many milliseconds it will wait,
counted from when the request arrives here (relative, like gRPC's `grpc-timeout`, because
the caller's clock is another pod's). The request's work then ends by that time: it is not
started once the time is spent (waiting for a worker thread), every storage call gets the
time left as its gRPC deadline (`StorageClient.bounded`), and so does the wait for
embeddings. A request out of time is answered 504 `deadline_exceeded`, naming storage when
a storage call was cut by the deadline. Without the header, each storage call has its own
timeout (SUTRA_HYBRID_STORAGE_TIMEOUT) as before.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sutra.common import tracing
from sutra.common.http import ServiceError, deadline_exceeded, unavailable
from sutra.hybrid.batching import EmbedderStopped, EmbeddingService, EmbedQueueFull
from sutra.hybrid.embeddings import Embedder
from sutra.hybrid.learning import Learner
from sutra.hybrid.metrics import HybridMetrics
from sutra.hybrid.reasoning import Reasoner, bounded_embed
from sutra.hybrid.settings import HybridSettings
from sutra.storage.client import (
    CallerDeadlineExceeded,
    RetryPolicy,
    StorageClient,
    in_storage_call,
)
from sutra.storage.errors import (
    DeadlineExceeded,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    StorageError,
    Unavailable,
)
from sutra.storage.shards.router import storage_client

T = TypeVar("T")
RETRY_AFTER = 1.0
# Past the deadline, a worker is still given this long to report a storage call the deadline
# cut (a 504 naming storage) before the request is answered 504 as hybrid's own.
DEADLINE_GRACE = 0.02


def service_error(exc: Exception) -> ServiceError | None:
    """The client-facing error for a failure below a handler (None: unexpected)."""
    if isinstance(exc, CallerDeadlineExceeded) and exc.called:
        return deadline_exceeded(
            f"storage did not answer within the request's deadline ({exc.message})",
            dependency="storage",
        )
    if isinstance(exc, CallerDeadlineExceeded | TimeoutError):
        return deadline_exceeded("the request's deadline passed before hybrid finished it")
    if isinstance(exc, EmbedQueueFull):
        return unavailable("embedder", str(exc), code="overloaded", retry_after=RETRY_AFTER)
    if isinstance(exc, EmbedderStopped):
        return unavailable("embedder", str(exc), retry_after=None)
    if isinstance(exc, Unavailable | DeadlineExceeded):
        return unavailable(
            "storage", f"storage unavailable: {exc.message}", retry_after=RETRY_AFTER
        )
    if isinstance(exc, ResourceExhausted):
        return unavailable(
            "storage",
            f"storage is overloaded: {exc.message}",
            code="overloaded",
            retry_after=RETRY_AFTER,
        )
    if isinstance(exc, NotFound):
        return ServiceError(404, "not_found", exc.message, dependency="storage")
    if isinstance(exc, InvalidArgument):
        return ServiceError(400, "bad_request", f"storage: {exc.message}", dependency="storage")
    if isinstance(exc, StorageError):
        return ServiceError(502, "storage_error", f"storage: {exc.message}", dependency="storage")
    return None


class Hybrid:
    """Everything a request needs: storage clients, the embedder, the worker threads."""

    def __init__(
        self, settings: HybridSettings, embedder: Embedder, metrics: HybridMetrics
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        # An embedder without a device runs on the CPU.
        self.device = str(getattr(embedder, "device", "cpu"))
        self.storage = storage_client(
            settings.storage_server, timeout=settings.hybrid_storage_timeout
        )
        # Readiness must answer within the probe's deadline: one try, a short deadline.
        self.probe = StorageClient(
            settings.storage_server,
            timeout=settings.hybrid_ready_timeout,
            retry=RetryPolicy(attempts=1),
        )
        self.embeddings = EmbeddingService(
            embedder,
            cache_size=settings.hybrid_embed_cache_size,
            batch_size=settings.hybrid_embed_batch_size,
            batch_wait=settings.hybrid_embed_batch_wait_ms / 1000.0,
            queue_size=settings.hybrid_embed_queue_size,
            metrics=metrics,
        )
        self.reasoner = Reasoner(self.storage, self.embeddings.embed)
        self._learner = Learner(self.storage, self.embeddings.embed, self.reasoner.pool)
        # A ContextPool: the request's trace context goes along to the worker thread.
        self.executor = tracing.ContextPool(settings.hybrid_workers, thread_name_prefix="work")
        self.started = time.monotonic()

    def start(self) -> None:
        self.embeddings.start()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.reasoner.close()
        self.embeddings.stop()
        self.storage.close()
        self.probe.close()

    def learner(self, deadline: float | None) -> Learner:
        """A learner whose storage calls and embeddings end by `deadline`."""
        if deadline is None:
            return self._learner
        storage = self.storage.bounded(deadline)
        return Learner(storage, bounded_embed(self.embeddings.embed, deadline), self.reasoner.pool)

    async def run(self, fn: Callable[[], T], deadline: float | None = None) -> T:
        """Run blocking work in the pool, not started (and not awaited) past `deadline`;
        storage, queue and deadline failures become ServiceErrors."""
        loop = asyncio.get_running_loop()
        worker: list[int] = []  # the thread that took the work

        def start() -> T:
            worker.append(threading.get_ident())
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("the deadline passed while waiting for a worker")
            return fn()

        try:
            work = loop.run_in_executor(self.executor, start)
            if deadline is None:
                return await work
            return await asyncio.wait_for(work, deadline - time.monotonic() + DEADLINE_GRACE)
        except Exception as exc:
            if isinstance(exc, TimeoutError) and worker and in_storage_call(worker[0]):
                # Cut while waiting for storage: its answer, not hybrid's work, was missing.
                exc = CallerDeadlineExceeded("no answer within the request's deadline", called=True)
            error = service_error(exc)
            if error is None:
                raise
            if isinstance(exc, StorageError):
                self.metrics.storage_errors.labels(exc.code.name).inc()
            raise error from None

    def ready(self) -> None:
        """Raise ServiceError (503, naming storage) unless storage answers and agrees."""
        try:
            stats = self.probe.stats()
        except StorageError as exc:
            raise unavailable(
                "storage",
                f"storage at {self.settings.storage_server} is unreachable: {exc.message}",
                code="not_ready",
                retry_after=RETRY_AFTER,
            ) from None
        if stats.dimension and stats.dimension != self.embeddings.dimension:
            raise unavailable(
                "storage",
                f"storage stores {stats.dimension}-dimensional vectors but this service "
                f"embeds to {self.embeddings.dimension}",
                code="not_ready",
                retry_after=None,
            )
