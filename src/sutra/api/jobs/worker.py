"""The worker: runs one job at a time, batch by batch, through the gateway's learn batch.

Each batch is read from the queue at the job's checkpoint, its lines checked (bad lines
become line errors, blank lines are skipped), the good ones learned with one hybrid learn
batch, exactly as POST /learn/batch does (breakers, bulkhead, deadline, cache invalidation),
and then the checkpoint and the counts are committed together.

A batch hybrid cannot take now (503: a breaker open, a bulkhead full, storage down; 504) is
retried with back-off, never counted as failed lines. A batch hybrid refuses (4xx) is learned
again line by line, so only the lines at fault are reported.

Replay: a crash between a batch's learn and its commit learns that batch again when the job
resumes. Learning is keyed by content-derived ids, so no concept or association is
duplicated, but each concept of the replayed batch is strengthened once more (x1.02, as any
re-learning does) and its associations keep the larger of their confidences; at most one
batch per crash is replayed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sutra.api.deadline import Deadline
from sutra.api.gateway import Gateway
from sutra.api.jobs.lines import Fact, split
from sutra.api.jobs.metrics import JobMetrics
from sutra.api.jobs.models import JobRecord, LineError
from sutra.api.jobs.queue import JobQueue
from sutra.common import contract
from sutra.common.http import ServiceError
from sutra.common.logging import log_event

log = logging.getLogger("sutra.api.jobs")

RETRY_STATUSES = frozenset({429, 503, 504})
FIRST_BACKOFF, MAX_BACKOFF = 0.5, 30.0
COUNT_SECONDS = 5.0  # how often the jobs-by-state gauges are refreshed during a job
MAX_ATTEMPTS = 5  # runs of a job in a row that end in an unexpected error before it fails


class Lost(Exception):
    """This worker no longer owns the job (cancelled, or taken over by another pod)."""


@dataclass
class Learned:
    lines: int = 0
    concepts: int = 0
    associations: int = 0
    errors: list[LineError] = field(default_factory=list)


class Worker:
    def __init__(
        self,
        queue: JobQueue,
        gateway: Gateway,
        metrics: JobMetrics,
        *,
        poll_seconds: float = 1.0,
        lease_seconds: float = 30.0,
    ) -> None:
        self.queue = queue
        self.gateway = gateway
        self.metrics = metrics
        self.poll_seconds = poll_seconds
        self.max_backoff = min(MAX_BACKOFF, lease_seconds / 3)
        self.max_line_bytes = gateway.settings.max_body_bytes
        self._wake = asyncio.Event()
        self._errors: dict[str, int] = {}  # job id -> runs in a row that ended in an error
        self._task: asyncio.Task[None] | None = None
        self._counted = 0.0  # when the state gauges were last refreshed (monotonic)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="sutra-jobs-worker")

    def wake(self) -> None:
        """A job was queued here: look now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Stop at once: the batch in flight is not committed and is replayed on resume."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            job = await self._next()
            if job is not None:
                await self._run_logged(job)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _count_states(self) -> None:
        """Refresh the jobs-by-state gauges (between jobs, and every few seconds in one)."""
        self.metrics.set_counts(await self.queue.counts())
        self._counted = time.monotonic()

    async def _next(self) -> JobRecord | None:
        """The next job, after the state gauges are refreshed; None on a queue error."""
        try:
            await self._count_states()
            return await self.queue.claim()
        except Exception as exc:  # Redis down, disk full: try again at the next poll
            log_event(log, "job queue unavailable", logging.WARNING, error=repr(exc))
            return None

    async def _run_logged(self, job: JobRecord) -> None:
        log_event(log, "job started", job=job.id, line=job.lines_done, lines=job.lines_total)
        self.metrics.busy.set(1)
        try:
            await self.run(job)
        except Lost:
            log_event(log, "job given up", job=job.id, reason="cancelled or taken over")
        except asyncio.CancelledError:  # the API stops: hand the job on
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.queue.release(job), 2.0)
            raise
        except Exception as exc:
            # A queue that went away (Redis restarting, a full disk) leaves the job to be
            # claimed again; only an error that keeps coming back fails it.
            self._errors[job.id] = self._errors.get(job.id, 0) + 1
            log_event(log, "job interrupted", logging.ERROR, job=job.id, error=repr(exc))
            if self._errors[job.id] >= MAX_ATTEMPTS:
                await self._fail(job, f"error at line {job.lines_done + 1}: {exc!r}")
            with contextlib.suppress(Exception):
                await self.queue.release(job)
            await asyncio.sleep(self.poll_seconds)
        else:
            self._errors.pop(job.id, None)
        finally:
            self.metrics.busy.set(0)
        log_event(log, "job stopped", job=job.id, state=job.state, line=job.lines_done)

    async def _fail(self, job: JobRecord, message: str) -> None:
        job.state, job.message, job.finished_at = "failed", message, time.time()
        try:
            await self.queue.commit(job)
        except Exception as exc:
            log_event(log, "job state not saved", logging.ERROR, job=job.id, error=repr(exc))

    async def run(self, job: JobRecord) -> None:
        """Process `job` from its checkpoint to its end, committing after every batch."""
        while job.state == "running":
            got = await self.queue.read(job, job.batch_size)
            if got is None:
                await self._fail(job, f"the upload is gone (line {job.lines_done + 1} onwards)")
                return
            raw_lines, cursor = got
            facts, errors, blank = split(job.lines_done + 1, raw_lines, self.max_line_bytes)
            learned = await self.learn(job, facts)
            job.message = None
            self._count(job, learned, errors + learned.errors, blank, len(raw_lines))
            job.cursor = cursor
            if not raw_lines or job.lines_done >= job.lines_total:
                job.state, job.finished_at = "done", time.time()
            if not await self.queue.commit(job):
                raise Lost
            self._observe(learned, len(errors + learned.errors), blank)
            if time.monotonic() - self._counted >= COUNT_SECONDS:
                await self._count_states()

    def _count(
        self, job: JobRecord, learned: Learned, errors: list[LineError], blank: int, lines: int
    ) -> None:
        errors.sort(key=lambda e: e.line)
        job.learned += learned.lines
        job.failed += len(errors)
        job.skipped += blank
        job.concepts_created += learned.concepts
        job.associations_created += learned.associations
        job.add_errors(errors)
        job.lines_done += lines

    def _observe(self, learned: Learned, failed: int, blank: int) -> None:
        self.metrics.lines.labels(outcome="learned").inc(learned.lines)
        self.metrics.lines.labels(outcome="failed").inc(failed)
        self.metrics.lines.labels(outcome="blank").inc(blank)

    # ------------------------------------------------------------------ learning

    async def learn(self, job: JobRecord, facts: list[Fact]) -> Learned:
        """Learn `facts` in one batch; line by line if hybrid refuses the batch."""
        if not facts:
            return Learned()
        items = [f.item() for f in facts]
        try:
            result = await self._retrying(job, lambda: self._call("learn_batch", items))
        except ServiceError as exc:
            if exc.status >= 500:
                raise
            return await self._one_by_one(job, facts)
        return Learned(
            lines=len(result.results),
            concepts=result.concepts_created,
            associations=result.associations_created,
        )

    async def _one_by_one(self, job: JobRecord, facts: list[Fact]) -> Learned:
        out = Learned()
        for fact in facts:
            try:
                result = await self._retrying(job, lambda f=fact: self._call("learn", [f.item()]))
            except ServiceError as exc:
                if exc.status >= 500:
                    raise
                out.errors.append(LineError(line=fact.line, message=exc.message, field=exc.field))
                continue
            out.lines += 1
            out.concepts += result.concepts_created
            out.associations += result.associations_created
        return out

    async def _call(
        self, operation: str, items: list[contract.LearnRequest]
    ) -> contract.LearnBatchResponse:
        """One learn through the gateway, with the budget of a /learn/batch request (a single
        learn's answer as a batch of one)."""
        gw = self.gateway
        deadline = Deadline(gw.settings.budget_batch_seconds, group="batch")

        async def call(timeout: float) -> contract.LearnBatchResponse:
            if operation != "learn":
                batch = contract.LearnBatchRequest(items=items)
                return await gw.hybrid.learn_batch(batch, timeout=timeout)
            one = await gw.hybrid.learn(items[0], timeout=timeout)
            return contract.LearnBatchResponse(
                results=[one],
                concepts_created=one.concepts_created,
                associations_created=one.associations_created,
            )

        result = await gw.via_hybrid(operation, call, deadline, gw.settings.hybrid_timeout)
        await gw.cache.invalidate()
        return result

    async def _retrying(
        self, job: JobRecord, call: Callable[[], Awaitable[contract.LearnBatchResponse]]
    ) -> contract.LearnBatchResponse:
        """`call()` until it is not refused for a dependency being unavailable."""
        backoff = FIRST_BACKOFF
        while True:
            try:
                return await call()
            except ServiceError as exc:
                if exc.status not in RETRY_STATUSES:
                    raise
                delay = min(max(backoff, exc.retry_after or 0.0), self.max_backoff)
                why = exc.message
            log_event(log, "batch retried", logging.WARNING, job=job.id, error=why)
            # The report says what the job waits for; the commit also renews the lease.
            job.batch_retries += 1
            job.message = f"waiting to learn from line {job.lines_done + 1}: {why}"
            self.metrics.retries.inc()
            if not await self.queue.commit(job):
                raise Lost
            await asyncio.sleep(delay)
            backoff = min(backoff * 2, self.max_backoff)
