"""Where jobs wait and keep their state: one protocol, a local backend here, Redis beside it.

The local backend keeps each upload as a file in SUTRA_JOBS_DIR and the job records in an
SQLite database there (`jobs.sqlite3`, rollback journal, synchronous=FULL: a committed
checkpoint survives a SIGKILL or a power cut). Only the process holding `worker.lock` (an
flock, released by the kernel when the process dies) runs jobs, so two processes sharing the
directory never run one job twice; the other still accepts uploads and answers reports. The
directory is made at the first upload, so an API that never ingests writes nothing.

Every write a worker makes is conditional: it applies only while the job is still `running`
(not cancelled), so a checkpoint can never overwrite a cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

from sutra.api.jobs.models import FINISHED, JobRecord

T = TypeVar("T")
#: An upload still incomplete after this long was abandoned.
ABANDONED_SECONDS = 86_400.0
#: This process, as job reports name it.
WORKER = f"{socket.gethostname()}:{os.getpid()}"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created REAL NOT NULL,
    record TEXT NOT NULL
)
"""


class JobQueue(Protocol):
    backend: str

    def spool_path(self, job_id: str) -> Path:
        """Where the upload of `job_id` is written before `submit`."""
        ...

    async def submit(self, job: JobRecord, spool: Path) -> None:
        """Queue `job`, whose lines are in `spool` (taken over); durable once it returns."""
        ...

    async def get(self, job_id: str) -> JobRecord | None: ...

    async def claim(self) -> JobRecord | None:
        """The next job for this worker, marked running: a job whose worker died first,
        then the oldest queued one; None when there is none (or another worker has them)."""
        ...

    async def read(self, job: JobRecord, count: int) -> tuple[list[bytes], int] | None:
        """Up to `count` lines from `job.cursor` and the cursor after them; None when the
        upload is gone (the job was cancelled or its spool lost)."""
        ...

    async def commit(self, job: JobRecord) -> bool:
        """Write the job's progress (and, when it is finished, drop its upload); with Redis
        it renews the lease too. False when this worker no longer owns it: cancelled, or
        taken over after a lost lease."""
        ...

    async def release(self, job: JobRecord) -> None:
        """This worker stops (the API shuts down): let another take the job at once."""
        ...

    async def cancel(self, job_id: str) -> JobRecord | None:
        """Cancel a queued or running job; the record as it is after (None: unknown id)."""
        ...

    async def counts(self) -> dict[str, int]:
        """Jobs by state."""
        ...

    async def close(self) -> None: ...


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_lines(path: Path, offset: int, count: int) -> tuple[list[bytes], int]:
    """Up to `count` lines of `path` from byte `offset`, without their newline; new offset."""
    lines: list[bytes] = []
    with open(path, "rb") as spool:
        spool.seek(offset)
        for _ in range(count):
            raw = spool.readline()
            if not raw:
                break
            lines.append(raw.removesuffix(b"\n"))
        return lines, spool.tell()


class LocalQueue:
    """Jobs in a directory of this machine; see the module docstring."""

    backend = "local"

    def __init__(self, directory: Path, retention_seconds: float) -> None:
        self.directory = directory
        self.retention = retention_seconds
        self._db: sqlite3.Connection | None = None
        self._lock_file: IO[bytes] | None = None
        self._mutex = asyncio.Lock()

    def spool_path(self, job_id: str) -> Path:
        incoming = self.directory / "incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        return incoming / f"{job_id}.part"

    def _upload(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.ndjson"

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        if self._db is None and (create or (self.directory / "jobs.sqlite3").exists()):
            self.directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.directory / "jobs.sqlite3", check_same_thread=False)
            db.execute("PRAGMA synchronous=FULL")
            db.execute(_SCHEMA)
            cutoff = time.time() - self.retention
            rows = db.execute(
                "SELECT id, record FROM jobs WHERE state IN ('done', 'failed', 'cancelled')"
            ).fetchall()
            old = [job_id for job_id, raw in rows if (_finished_at(raw) or 0) < cutoff]
            db.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in old])
            db.commit()
            self._db = db
            self._drop_abandoned_uploads()
        return self._db

    def _drop_abandoned_uploads(self) -> None:
        """Uploads cut off before their 202 (the client or the process went away)."""
        cutoff = time.time() - ABANDONED_SECONDS
        for part in (self.directory / "incoming").glob("*.part"):
            with contextlib.suppress(OSError):
                if part.stat().st_mtime < cutoff:
                    part.unlink()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """SQLite and file work off the event loop, one operation at a time."""
        async with self._mutex:
            return await asyncio.to_thread(fn, *args)

    async def submit(self, job: JobRecord, spool: Path) -> None:
        await self._run(self._submit, job, spool)

    def _submit(self, job: JobRecord, spool: Path) -> None:
        with open(spool, "rb") as written:
            os.fsync(written.fileno())
        os.replace(spool, self._upload(job.id))
        fsync_dir(self.directory)
        db = self._connect(create=True)
        assert db is not None
        with db:
            db.execute(
                "INSERT INTO jobs (id, state, created, record) VALUES (?, ?, ?, ?)",
                (job.id, job.state, job.created_at, job.model_dump_json()),
            )

    async def get(self, job_id: str) -> JobRecord | None:
        return await self._run(self._get, job_id)

    def _get(self, job_id: str) -> JobRecord | None:
        db = self._connect(create=False)
        row = db and db.execute("SELECT record FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return JobRecord.model_validate_json(row[0]) if row else None

    async def claim(self) -> JobRecord | None:
        return await self._run(self._claim)

    def _holds_lock(self) -> bool:
        if self._lock_file is None:
            lock = open(self.directory / "worker.lock", "ab")  # noqa: SIM115 - kept open
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                return False
            self._lock_file = lock
        return True

    def _claim(self) -> JobRecord | None:
        db = self._connect(create=False)
        if db is None or not self._holds_lock():
            return None
        row = db.execute(
            "SELECT record FROM jobs WHERE state IN ('running', 'queued') "
            "ORDER BY state = 'running' DESC, created LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        job = JobRecord.model_validate_json(row[0])
        start_run(job)
        with db:
            db.execute(
                "UPDATE jobs SET state = ?, record = ? WHERE id = ?",
                (job.state, job.model_dump_json(), job.id),
            )
        return job

    async def read(self, job: JobRecord, count: int) -> tuple[list[bytes], int] | None:
        try:
            return await asyncio.to_thread(read_lines, self._upload(job.id), job.cursor, count)
        except FileNotFoundError:
            return None

    async def commit(self, job: JobRecord) -> bool:
        return await self._run(self._commit, job)

    def _commit(self, job: JobRecord) -> bool:
        db = self._connect(create=False)
        assert db is not None
        job.updated_at = time.time()
        with db:
            changed = db.execute(
                "UPDATE jobs SET state = ?, record = ? WHERE id = ? AND state = 'running'",
                (job.state, job.model_dump_json(), job.id),
            ).rowcount
        if changed and job.state in FINISHED:
            self._upload(job.id).unlink(missing_ok=True)
        return bool(changed)

    async def release(self, job: JobRecord) -> None:
        """Nothing to do: the job stays running and the next holder of the lock resumes it."""

    async def cancel(self, job_id: str) -> JobRecord | None:
        return await self._run(self._cancel, job_id)

    def _cancel(self, job_id: str) -> JobRecord | None:
        job = self._get(job_id)
        if job is None or job.state in FINISHED:
            return job
        assert self._db is not None
        previous = job.state
        job.state = "cancelled"
        job.finished_at = job.updated_at = time.time()
        with self._db:
            self._db.execute(
                "UPDATE jobs SET state = ?, record = ? WHERE id = ? AND state = ?",
                (job.state, job.model_dump_json(), job_id, previous),
            )
        self._upload(job_id).unlink(missing_ok=True)
        return self._get(job_id)

    async def counts(self) -> dict[str, int]:
        return await self._run(self._counts)

    def _counts(self) -> dict[str, int]:
        db = self._connect(create=False)
        rows = (
            db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall() if db else []
        )
        return {state: int(n) for state, n in rows}

    async def close(self) -> None:
        async with self._mutex:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._lock_file is not None:
                self._lock_file.close()  # releases the flock
                self._lock_file = None


def start_run(job: JobRecord) -> None:
    """Mark a claimed job running from its checkpoint (a new run: the rate starts over)."""
    now = time.time()
    job.state = "running"
    job.started_at = job.started_at or now
    job.run_started_at = now
    job.run_started_line = job.lines_done
    job.updated_at = now
    job.worker = WORKER


def _finished_at(raw: str) -> float | None:
    return JobRecord.model_validate_json(raw).finished_at
