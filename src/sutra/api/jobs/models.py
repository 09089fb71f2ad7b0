"""A bulk-ingest job: the record the queue keeps and the report GET /learn/jobs/{id} gives.

One record holds everything about a job, counts and checkpoint together, so a commit writes
them in one step: after a crash the counts always match the lines the checkpoint covers.
"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel, Field

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"done", "failed", "cancelled"})
#: Line errors kept per job; the rest are only counted (`errors_total`).
MAX_ERRORS = 100


class LineError(BaseModel):
    line: int = Field(description="1-based line number in the upload")
    message: str = Field(description="why the line was not learned")
    field: str | None = Field(None, description="the field at fault, when one is")


class JobRecord(BaseModel):
    """What the queue stores; `cursor` is the backend's read position after `lines_done`."""

    id: str
    state: JobState = "queued"
    created_at: float = Field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = Field(default_factory=time.time)
    bytes: int = 0
    lines_total: int = 0
    lines_done: int = 0
    cursor: int = 0
    learned: int = 0
    failed: int = 0
    skipped: int = 0
    concepts_created: int = 0
    associations_created: int = 0
    errors: list[LineError] = Field(default_factory=list)
    errors_total: int = 0
    batch_size: int = 100
    batch_retries: int = 0
    message: str | None = None
    worker: str | None = None
    # This run (since the job was last claimed): for the rate.
    run_started_at: float | None = None
    run_started_line: int = 0

    def add_errors(self, errors: list[LineError]) -> None:
        self.errors_total += len(errors)
        room = MAX_ERRORS - len(self.errors)
        if room > 0:
            self.errors.extend(errors[:room])

    def rate(self) -> float:
        """Lines per second of the current (or last) run."""
        if self.run_started_at is None:
            return 0.0
        end = self.finished_at or self.updated_at
        elapsed = end - self.run_started_at
        lines = self.lines_done - self.run_started_line
        return round(lines / elapsed, 1) if elapsed > 0 and lines > 0 else 0.0


class JobAccepted(BaseModel):
    id: str = Field(description="the job id; GET /learn/jobs/{id} reports on it")
    state: JobState
    lines_total: int = Field(description="lines in the upload")
    bytes: int = Field(description="size of the upload")
    location: str = Field(description="where the job's report is, as in the Location header")


class JobReport(BaseModel):
    id: str
    state: JobState = Field(
        description="queued, running, done (every line processed: learned, failed or "
        "blank), failed (the job could not go on; `message` says why) or cancelled"
    )
    lines_total: int = Field(description="lines in the upload")
    lines_done: int = Field(description="lines processed so far (the checkpoint)")
    learned: int = Field(description="lines learned")
    failed: int = Field(description="lines refused (not JSON, or a field invalid)")
    skipped: int = Field(description="blank lines")
    concepts_created: int
    associations_created: int
    rate_lines_per_second: float = Field(description="lines processed per second, this run")
    errors: list[LineError] = Field(description=f"the first {MAX_ERRORS} line errors")
    errors_total: int = Field(description="all line errors, kept or not")
    batch_retries: int = Field(description="batches retried because a dependency was unavailable")
    created_at: float = Field(description="unix seconds")
    started_at: float | None = None
    finished_at: float | None = None
    message: str | None = Field(
        None, description="why a failed job failed, or what a running job waits for"
    )
    worker: str | None = Field(
        None, description="the API process running the job, or that ran it last (host:pid)"
    )


def report(job: JobRecord) -> JobReport:
    return JobReport(
        **job.model_dump(exclude={"cursor", "run_started_at", "run_started_line", "updated_at"}),
        rate_lines_per_second=job.rate(),
    )
