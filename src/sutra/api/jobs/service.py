"""The bulk-ingest service of one API process: its queue, its worker, its metrics."""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path

from starlette.requests import Request

from sutra.api.gateway import Gateway
from sutra.api.jobs import spool
from sutra.api.jobs.metrics import JobMetrics
from sutra.api.jobs.models import JobRecord
from sutra.api.jobs.queue import JobQueue, LocalQueue
from sutra.api.jobs.worker import Worker
from sutra.api.settings import ApiSettings
from sutra.common.http import ServiceError


def make_queue(settings: ApiSettings) -> JobQueue:
    """Redis when SUTRA_REDIS_URL is set (shared by the pods), else SUTRA_JOBS_DIR."""
    if settings.redis_url:
        from sutra.api.jobs.redis_queue import RedisQueue

        return RedisQueue(
            settings.redis_url,
            lease_seconds=settings.jobs_lease_seconds,
            retention_seconds=settings.jobs_retention_seconds,
        )
    return LocalQueue(jobs_dir(settings), settings.jobs_retention_seconds)


def jobs_dir(settings: ApiSettings) -> Path:
    """SUTRA_JOBS_DIR, else one per port under the temporary directory: a restarted API
    finds its jobs again, and two APIs on one machine do not run each other's."""
    if settings.jobs_dir is not None:
        return settings.jobs_dir
    return Path(tempfile.gettempdir()) / f"sutra-api-{settings.api_port}-jobs"


def unavailable(backend: str, exc: Exception) -> ServiceError:
    """503 for a queue that cannot be used now (a full disk, Redis unreachable)."""
    where = "Redis (SUTRA_REDIS_URL)" if backend == "redis" else "SUTRA_JOBS_DIR"
    return ServiceError(
        503,
        "unavailable",
        f"jobs: {where} cannot be used now: {type(exc).__name__}: {exc}",
        dependency="redis" if backend == "redis" else None,
        retry_after=5,
    )


class Jobs:
    def __init__(self, settings: ApiSettings, gateway: Gateway) -> None:
        self.settings = settings
        self.gateway = gateway
        self.metrics = JobMetrics(gateway.metrics.registry)
        self._queue: JobQueue | None = None
        self._worker: Worker | None = None

    async def start(self) -> None:
        """Made in the server's loop (the Redis client belongs to it); resumes jobs."""
        self._queue = make_queue(self.settings)
        self._worker = Worker(
            self._queue,
            self.gateway,
            self.metrics,
            lease_seconds=self.settings.jobs_lease_seconds,
        )
        self._worker.start()

    async def stop(self) -> None:
        if self._worker is not None:
            await self._worker.stop()
        if self._queue is not None:
            await self._queue.close()

    @property
    def queue(self) -> JobQueue:
        assert self._queue is not None, "Jobs.start() has not run"
        return self._queue

    async def submit(self, request: Request) -> JobRecord:
        """Spool the request's body, queue it as a job; durable when this returns."""
        limit = self.settings.jobs_max_upload_bytes
        spool.check_content_type(request)
        spool.check_declared_length(request, limit)
        job = JobRecord(id=uuid.uuid4().hex, batch_size=self.settings.jobs_batch_size)
        try:
            path = self.queue.spool_path(job.id)
            written = await spool.spool(request, path, limit)
            job.bytes, job.lines_total = written.bytes, written.lines
            try:
                await self.queue.submit(job, path)
            finally:
                spool.discard(path)
        except ServiceError:
            raise
        except Exception as exc:  # a full disk, Redis unreachable
            raise unavailable(self.queue.backend, exc) from None
        self.metrics.submitted.inc()
        assert self._worker is not None
        self._worker.wake()
        return job

    async def get(self, job_id: str) -> JobRecord | None:
        try:
            return await self.queue.get(job_id)
        except Exception as exc:
            raise unavailable(self.queue.backend, exc) from None

    async def cancel(self, job_id: str) -> JobRecord | None:
        try:
            return await self.queue.cancel(job_id)
        except Exception as exc:
            raise unavailable(self.queue.backend, exc) from None
