"""Jobs in Redis: shared by every API pod, so any pod answers a report, one claims each job,
and a job whose pod died is taken over by another.

Keys (prefix `sutra:api:jobs:`): `job:ID` the record (JSON), `lines:ID` the upload as a list
of chunks of `batch_size` lines (the cursor is a chunk index), `lease:ID` the owning worker
(expires after SUTRA_JOBS_LEASE_SECONDS without a commit), `queue` the queued
ids (FIFO), `running` the claimed ids, `finished` counts by final state.

A claim, a commit and a release are Lua scripts, so each is atomic: a worker whose lease
ran out (paused, partitioned) finds its next commit refused and drops the job, which by then
belongs to another pod; that pod replays at most the batch after the last commit. The scripts
name keys they compute, so they need a single Redis (or one hash slot), not a cluster.
Resuming after a Redis restart needs Redis persistence (AOF or RDB); without it the jobs go
with the rest of Redis's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from sutra.api.jobs.models import FINISHED, JobRecord
from sutra.api.jobs.queue import WORKER, start_run

PREFIX = "sutra:api:jobs:"
QUEUE = f"{PREFIX}queue"
RUNNING = f"{PREFIX}running"
COUNTS = f"{PREFIX}finished"
_PUSH_CHUNKS = 64  # chunks per round trip while an upload is copied in

# KEYS: queue, running. ARGV: owner, lease ms, prefix. Returns the claimed id or false.
_CLAIM = """
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('SET', ARGV[3] .. 'lease:' .. id, ARGV[1], 'NX', 'PX', ARGV[2]) then
    return id
  end
end
local id = redis.call('RPOP', KEYS[1])
if id then
  redis.call('SADD', KEYS[2], id)
  redis.call('SET', ARGV[3] .. 'lease:' .. id, ARGV[1], 'PX', ARGV[2])
  return id
end
return false
"""

# KEYS: job, lease, running, lines, counts. ARGV: owner, record, lease ms, final state or '',
# retention ms, id, '1' when a queued job may be written (its claim). 1 when written, 0 when
# this worker no longer owns a running job.
_COMMIT = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local state = cjson.decode(current)['state']
if state ~= 'running' and not (ARGV[7] == '1' and state == 'queued') then return 0 end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[5])
  redis.call('DEL', KEYS[2], KEYS[4])
  redis.call('SREM', KEYS[3], ARGV[6])
  redis.call('HINCRBY', KEYS[5], ARGV[4], 1)
else
  redis.call('SET', KEYS[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
return 1
"""

# KEYS: lease. ARGV: owner.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _key(kind: str, job_id: str) -> str:
    return f"{PREFIX}{kind}:{job_id}"


def chunks(path: Path, size: int) -> Iterator[bytes]:
    """The lines of `path` (newline kept off) in chunks of `size` lines, each joined by \\n."""
    with open(path, "rb") as spool:
        batch: list[bytes] = []
        for raw in spool:
            batch.append(raw.removesuffix(b"\n"))
            if len(batch) == size:
                yield b"\n".join(batch)
                batch = []
        if batch:
            yield b"\n".join(batch)


class RedisQueue:
    backend = "redis"

    def __init__(self, url: str, *, lease_seconds: float, retention_seconds: float) -> None:
        import redis.asyncio as redis

        self._redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        self.owner = f"{WORKER}:{uuid.uuid4().hex[:8]}"
        self.lease_ms = int(lease_seconds * 1000)
        self.retention_ms = int(retention_seconds * 1000)
        self._claim = self._redis.register_script(_CLAIM)
        self._commit = self._redis.register_script(_COMMIT)
        self._release = self._redis.register_script(_RELEASE)

    def spool_path(self, job_id: str) -> Path:
        # Only until the lines are in Redis; the pod's /tmp is enough.
        return Path(tempfile.gettempdir()) / f"sutra-job-{job_id}.part"

    async def submit(self, job: JobRecord, spool: Path) -> None:
        lines_key = _key("lines", job.id)
        try:
            source = chunks(spool, job.batch_size)
            # Read off the event loop, a bounded group at a time.
            while group := await asyncio.to_thread(list, itertools.islice(source, _PUSH_CHUNKS)):
                await self._redis.rpush(lines_key, *group)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.set(_key("job", job.id), job.model_dump_json())
                pipe.lpush(QUEUE, job.id)
                await pipe.execute()
        except BaseException:
            with contextlib.suppress(Exception):  # Redis may be what failed
                await self._redis.delete(lines_key)
            raise
        finally:
            spool.unlink(missing_ok=True)

    async def get(self, job_id: str) -> JobRecord | None:
        raw = await self._redis.get(_key("job", job_id))
        return JobRecord.model_validate_json(raw) if raw else None

    async def claim(self) -> JobRecord | None:
        claimed = await self._claim(keys=[QUEUE, RUNNING], args=[self.owner, self.lease_ms, PREFIX])
        if not claimed:
            return None
        job = await self.get(claimed.decode())
        if job is None or job.state in FINISHED:  # cancelled while queued: nothing to run
            await self._redis.srem(RUNNING, claimed)
            return None
        start_run(job)
        return job if await self.commit(job, claiming=True) else None

    async def read(self, job: JobRecord, count: int) -> tuple[list[bytes], int] | None:
        if count != job.batch_size:
            raise ValueError("a Redis job is read one whole chunk (batch_size lines) at a time")
        chunk = await self._redis.lindex(_key("lines", job.id), job.cursor)
        if chunk is None:
            return None if job.lines_done < job.lines_total else ([], job.cursor)
        return chunk.split(b"\n"), job.cursor + 1

    async def commit(self, job: JobRecord, *, claiming: bool = False) -> bool:
        job.updated_at = time.time()
        final = job.state if job.state in FINISHED else ""
        keys = [_key("job", job.id), _key("lease", job.id), RUNNING, _key("lines", job.id), COUNTS]
        args = [self.owner, job.model_dump_json(), self.lease_ms, final, self.retention_ms]
        args += [job.id, "1" if claiming else "0"]
        return bool(await self._commit(keys=keys, args=args))

    async def release(self, job: JobRecord) -> None:
        await self._release(keys=[_key("lease", job.id)], args=[self.owner])

    async def cancel(self, job_id: str) -> JobRecord | None:
        from redis.exceptions import WatchError

        key = _key("job", job_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        return None
                    job = JobRecord.model_validate_json(raw)
                    if job.state in FINISHED:
                        return job
                    job.state = "cancelled"
                    job.finished_at = job.updated_at = time.time()
                    pipe.multi()
                    pipe.set(key, job.model_dump_json(), px=self.retention_ms)
                    pipe.lrem(QUEUE, 0, job_id)
                    pipe.srem(RUNNING, job_id)
                    pipe.delete(_key("lines", job_id), _key("lease", job_id))
                    pipe.hincrby(COUNTS, "cancelled", 1)
                    await pipe.execute()
                    return job
                except WatchError:
                    continue

    async def counts(self) -> dict[str, int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.llen(QUEUE)
            pipe.scard(RUNNING)
            pipe.hgetall(COUNTS)
            queued, running, finished = await pipe.execute()
        out = {"queued": int(queued), "running": int(running)}
        out.update({k.decode(): int(v) for k, v in finished.items()})
        return out

    async def close(self) -> None:
        await self._redis.aclose()
