"""The bulk-ingest metrics, in the API's registry (`sutra.api.metrics.ApiMetrics.registry`)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from sutra.api.jobs.models import JobState

STATES: tuple[JobState, ...] = ("queued", "running", "done", "failed", "cancelled")
LINE_OUTCOMES = ("learned", "failed", "blank")


class JobMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.jobs = Gauge(
            "sutra_api_jobs",
            "Bulk-ingest jobs by state: with Redis, of every pod (finished ones counted since "
            "Redis started); without, of this pod's jobs directory (finished ones kept for "
            "SUTRA_JOBS_RETENTION_SECONDS)",
            ["state"],
            registry=r,
        )
        self.submitted = Counter(
            "sutra_api_jobs_submitted", "Bulk-ingest uploads accepted by this pod", registry=r
        )
        self.lines = Counter(
            "sutra_api_job_lines",
            "Upload lines this pod's worker processed, by outcome (learned, failed: refused "
            "with a line error, blank)",
            ["outcome"],
            registry=r,
        )
        self.retries = Counter(
            "sutra_api_job_batch_retries",
            "Batches this pod's worker retried because hybrid or storage was unavailable",
            registry=r,
        )
        self.busy = Gauge(
            "sutra_api_job_worker_busy", "1 while this pod's worker runs a job, else 0", registry=r
        )
        for state in STATES:
            self.jobs.labels(state=state)
        for outcome in LINE_OUTCOMES:
            self.lines.labels(outcome=outcome)

    def set_counts(self, counts: dict[str, int]) -> None:
        for state in STATES:
            self.jobs.labels(state=state).set(counts.get(state, 0))
