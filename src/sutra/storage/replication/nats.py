"""The JetStream stream that holds one shard's log, behind a small synchronous interface.

nats-py is asyncio; the storage server is threads (gRPC handlers, the engine's writer
thread). One event loop runs in a daemon thread and every call here hands it a coroutine
and waits for the result with a timeout, so the engine's writer thread can publish the way
it fsyncs: blocking, one group at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from sutra.storage.errors import FailedPrecondition

T = TypeVar("T")

# JetStream's error codes: a failed Nats-Expected-Last-Sequence (the fence), a stream that
# another member created first, a cluster without enough peers for the replicas (yet)
WRONG_LAST_SEQUENCE = 10071
STREAM_NAME_IN_USE = 10058
NO_SUITABLE_PEERS = 10005
CONNECT_SECONDS = 5.0
CALL_SECONDS = 10.0
CHECK_SECONDS = 3.0
STREAM_SECONDS = 30.0


class LogConfigError(FailedPrecondition):
    """The log cannot be used as configured (no NATS reachable, wrong or missing stream)."""


class LogUnavailable(Exception):
    """The log did not answer in time or refused for a reason other than the fence."""


class Fenced(Exception):
    """The stream's last sequence was not the one expected: someone else appended."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class LogMessage:
    sequence: int
    data: bytes
    pending: int  # entries after this one in the stream when it was delivered
    timestamp: float  # when the stream stored it (unix seconds)


async def _quiet(exc: Exception) -> None:
    """Connection errors are retried by the client; the callers report what fails."""


def subject_for(stream: str, shard: int) -> str:
    """The one subject of a shard's stream (one stream per shard, one subject per stream)."""
    return f"sutra.storage.{stream}.{shard}"


class LogStream:
    """A connection to NATS and the stream of one shard's log."""

    def __init__(
        self,
        url: str,
        stream: str,
        shard: int = 0,
        *,
        replicas: int = 3,
        connect_seconds: float = CONNECT_SECONDS,
        max_age: float = 0.0,
    ) -> None:
        self.url = url
        self.connect_seconds = connect_seconds
        self.stream = stream
        self.shard = shard
        self.subject = subject_for(stream, shard)
        self.replicas = replicas
        self.max_age = max_age  # seconds an entry is kept (the writer sets it); 0 = for ever
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats", daemon=True)
        self._thread.start()
        self._nc: Any = None
        self._js: Any = None

    # ------------------------------------------------------------- plumbing

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float = CALL_SECONDS) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise LogUnavailable(
                f"the log at {self.url} did not answer within {timeout} s"
            ) from None

    def connect(self, *, create: bool) -> None:
        """Connect and check (or, for a writer, create) the stream; LogConfigError if unusable."""
        try:
            self._run(self._connect(), self.connect_seconds + 1)
        except (LogUnavailable, TimeoutError):
            raise LogConfigError(
                f"cannot reach NATS at {self.url} within {self.connect_seconds:g} s"
            ) from None
        except Exception as exc:
            raise LogConfigError(f"cannot reach NATS at {self.url}: {exc!r}") from None
        deadline = time.monotonic() + STREAM_SECONDS
        while True:  # a stream being created (by another member too) may answer late
            try:
                self._run(self._check_stream(create), CHECK_SECONDS)
                return
            except LogUnavailable as exc:
                if time.monotonic() > deadline:
                    raise LogConfigError(
                        f"{exc} (for {STREAM_SECONDS:g} s; is JetStream enabled, with a quorum "
                        f"of {self.replicas} servers?)"
                    ) from None
                time.sleep(0.2)

    async def _connect(self) -> None:
        import nats

        servers = [s.strip() for s in self.url.split(",") if s.strip()]
        self._nc = await asyncio.wait_for(
            nats.connect(
                servers=servers,
                connect_timeout=2,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.2,
                name="sutra-storage",
                error_cb=_quiet,
            ),
            self.connect_seconds,
        )
        self._js = self._nc.jetstream(timeout=CALL_SECONDS)

    async def _check_stream(self, create: bool) -> None:
        from nats.js import api
        from nats.js.errors import APIError, NotFoundError

        try:
            info = await self._js.stream_info(self.stream)
        except NotFoundError:
            if not create:
                raise LogConfigError(
                    f"stream {self.stream} does not exist on {self.url} (the writer creates it)"
                ) from None
            try:
                await self._js.add_stream(
                    name=self.stream,
                    subjects=[self.subject],
                    storage=api.StorageType.FILE,
                    num_replicas=self.replicas,
                    retention=api.RetentionPolicy.LIMITS,
                    discard=api.DiscardPolicy.OLD,
                    allow_direct=True,
                    max_age=self.max_age,
                )
            except APIError as exc:
                if exc.err_code == STREAM_NAME_IN_USE:  # created by another member meanwhile
                    return await self._check_stream(create=False)
                if (exc.code or 0) >= 500 or exc.err_code == NO_SUITABLE_PEERS:
                    # a cluster still gathering its peers (or electing a meta leader)
                    raise LogUnavailable(f"cannot create stream {self.stream} yet: {exc}") from None
                raise LogConfigError(
                    f"cannot create stream {self.stream} ({self.replicas} replicas) on "
                    f"{self.url}: {exc.description}"
                ) from None
            return
        subjects = list(info.config.subjects or [])
        if subjects != [self.subject]:
            raise LogConfigError(
                f"stream {self.stream} holds subjects {subjects}, not [{self.subject}]: "
                f"it is not the log of shard {self.shard}"
            )
        if create and float(info.config.max_age or 0) != self.max_age:
            await self._set_max_age(info.config)

    async def _set_max_age(self, config: Any) -> None:
        """Make the stream keep entries `max_age` s: the retention follows the setting.

        The duplicate window may not exceed the age, so it shrinks with it when needed.
        """
        window = float(config.duplicate_window or 0)
        if self.max_age:
            window = min(window, self.max_age)
        try:
            await self._js.update_stream(
                config.evolve(max_age=self.max_age, duplicate_window=window)
            )
        except Exception as exc:
            raise LogConfigError(
                f"cannot set max_age {self.max_age:g} s on stream {self.stream}: {exc!r}"
            ) from None

    @property
    def max_payload(self) -> int:
        """The largest entry the servers take (their `max_payload`)."""
        return int(self._nc.max_payload) if self._nc is not None else 1024 * 1024

    def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(Exception):
                self._run(self._nc.close(), 5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def __enter__(self) -> LogStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ the log

    def append(self, data: bytes, expected_last: int, timeout: float = CALL_SECONDS) -> int:
        """Append one entry if the stream ends at `expected_last`; its sequence.

        Fenced when the stream ends elsewhere; LogUnavailable when the outcome is unknown
        (the entry may or may not have been stored: the caller reads the tail to find out).
        """
        return self._run(self._append(data, expected_last, timeout), timeout + 1)

    async def _append(self, data: bytes, expected_last: int, timeout: float) -> int:
        import nats.errors
        from nats.js.errors import APIError

        headers = {"Nats-Expected-Last-Sequence": str(expected_last)}
        try:
            ack = await self._js.publish(self.subject, data, timeout=timeout, headers=headers)
        except APIError as exc:
            if exc.err_code == WRONG_LAST_SEQUENCE:
                raise Fenced(str(exc.description)) from None
            raise LogUnavailable(f"the log refused the entry: {exc.description}") from None
        except (nats.errors.Error, OSError) as exc:
            raise LogUnavailable(f"the log did not acknowledge the entry: {exc!r}") from None
        return int(ack.seq)

    def bounds(self) -> tuple[int, int]:
        """(first, last) sequence the stream holds now; (last + 1, last) when empty."""
        try:
            info = self._run(self._js.stream_info(self.stream))
        except LogUnavailable:
            raise
        except Exception as exc:
            raise LogUnavailable(
                f"cannot read the state of stream {self.stream}: {exc!r}"
            ) from None
        return int(info.state.first_seq), int(info.state.last_seq)

    def purge_before(self, sequence: int) -> None:
        """Drop the entries before `sequence` (once a snapshot holds them)."""
        self._run(self._js.purge_stream(self.stream, seq=sequence))

    def reader(self, start: int) -> LogReader:
        """Entries from sequence `start` on, in order (an ordered consumer)."""
        reader = LogReader(self, start)
        self._run(reader._open())
        return reader


class LogReader:
    """An ordered consumer from one sequence; the first delivered may be later if purged."""

    def __init__(self, log: LogStream, start: int) -> None:
        self.log = log
        self.start = start
        self._sub: Any = None

    async def _open(self) -> None:
        from nats.js import api

        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=max(1, self.start)
        )
        self._sub = await self.log._js.subscribe(
            self.log.subject,
            ordered_consumer=True,
            config=config,
            idle_heartbeat=1.0,
            pending_msgs_limit=4096,
        )

    def next(self, max_entries: int, wait: float) -> list[LogMessage]:
        """Up to `max_entries` entries: waits up to `wait` s for the first, not for the rest."""
        return self.log._run(self._next(max_entries, wait), wait + CALL_SECONDS)

    async def _next(self, max_entries: int, wait: float) -> list[LogMessage]:
        import nats.errors

        found: list[LogMessage] = []
        try:
            found.append(_message(await self._sub.next_msg(timeout=wait)))
            while len(found) < max_entries and self._sub.pending_msgs:
                found.append(_message(await self._sub.next_msg(timeout=0.5)))
        except nats.errors.TimeoutError:
            pass
        return found

    def close(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                self.log._run(self._sub.unsubscribe(), 5)


def _message(msg: Any) -> LogMessage:
    meta = msg.metadata
    return LogMessage(
        sequence=int(meta.sequence.stream),
        data=bytes(msg.data),
        pending=int(meta.num_pending),
        timestamp=meta.timestamp.timestamp(),
    )
