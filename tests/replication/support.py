"""Starting, killing and checking the members of one replicated shard."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sutra.common.testing import free_port, poll
from sutra.storage.client import RetryPolicy, StorageClient
from sutra.storage.errors import StorageError
from sutra.storage.replication.log import decode
from sutra.storage.replication.nats import LogStream
from sutra.storage.testing import ServerProcess, run_server

DIMENSION = 8


def vector(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(DIMENSION).astype(np.float32)
    return v / np.linalg.norm(v)


@dataclass
class Shard:
    nats_url: str
    stream: str
    root: Path
    members: dict[str, ServerProcess] = field(default_factory=dict)
    env_extra: dict[str, str] = field(default_factory=dict)  # for members started next
    _stacks: dict[str, contextlib.ExitStack] = field(default_factory=dict)

    def env(self, role: str) -> dict[str, str]:
        return {
            "SUTRA_STORAGE_NATS_URL": self.nats_url,
            "SUTRA_STORAGE_STREAM": self.stream,
            "SUTRA_STORAGE_ROLE": role,
            "SUTRA_VECTOR_DIMENSION": str(DIMENSION),
            "SUTRA_STORAGE_ACCESS_FLUSH_SECONDS": "0.2",
            "SUTRA_STORAGE_READ_WAIT_SECONDS": "0.5",
            **self.env_extra,
        }

    def start(
        self, name: str, role: str, *, port: int | None = None, snapshots: Path | None = None
    ) -> ServerProcess:
        """Start (or restart, on its port and data) member `name`; returns once SERVING."""
        old = self.members.get(name)
        if port is None and old is not None:
            port = old.port
        env = self.env(role)
        if snapshots is not None:
            env["SUTRA_STORAGE_SNAPSHOT_DIR"] = str(snapshots)
        stack = contextlib.ExitStack()
        server = stack.enter_context(
            run_server(self.root / name, port=port or free_port(), env=env)
        )
        self.members[name] = server
        self._stacks[name] = stack
        return server

    def start_with_snapshots(self, name: str, snapshots: Path) -> ServerProcess:
        """Start follower `name` bootstrapping from the snapshots in `snapshots`."""
        return self.start(name, "follower", snapshots=snapshots)

    def metric(self, name: str, metric: str) -> float:
        """A sample of member `name`'s Prometheus metrics."""
        import urllib.request

        url = f"http://127.0.0.1:{self.members[name].metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as reply:
            for line in reply.read().decode().splitlines():
                if line.startswith(metric + " "):
                    return float(line.split()[1])
        raise AssertionError(f"{metric} not in {url}")

    def kill(self, name: str) -> None:
        self.members[name].kill()
        self._stacks.pop(name).close()

    def stop_all(self) -> None:
        """SIGKILL every member at once: their stores are thrown away with the test."""
        for name in self._stacks:
            self.members[name].process.kill()
        for stack in self._stacks.values():
            stack.close()
        self._stacks.clear()

    def address(self, name: str) -> str:
        return self.members[name].address

    def client(self, name: str, *, readers: list[str] | None = None) -> StorageClient:
        return StorageClient(
            self.address(name),
            timeout=10.0,
            readers=readers or [],
            retry=RetryPolicy(attempts=2),
        )

    def digests(self, names: list[str], sequence: int) -> dict[str, dict]:
        """Each member's digest once it has applied `sequence`."""
        found = {}
        for name in names:
            with self.client(name) as c:
                poll(
                    lambda c=c: c.replication_status()["sequence"] >= sequence,
                    timeout=30,
                    what=f"{name} applying sequence {sequence}",
                )
                found[name] = c.digest()
        return found

    def log_writers(self) -> list[tuple[int, bytes, int]]:
        """(sequence, writer id, kind) of every entry in the stream."""
        stream = LogStream(self.nats_url, self.stream)
        stream.connect(create=False)
        try:
            last = stream.bounds()[1]
            reader = stream.reader(1)
            found: list[tuple[int, bytes, int]] = []
            while len(found) < last:
                batch = reader.next(1000, 5.0)
                assert batch, f"the stream stopped delivering at {len(found)} of {last}"
                for message in batch:
                    entry = decode(message.data)
                    found.append((message.sequence, entry.writer, entry.kind))
            reader.close()
            return found
        finally:
            stream.close()


class Load:
    """`writers` threads learning concepts through StorageClient (its retries included) until
    stopped, and a reader thread reading a known concept from the followers meanwhile."""

    def __init__(
        self,
        shard: Shard,
        readers: list[str],
        seed: tuple[str, int],
        *,
        writers: int = 16,
        timeout: float = 5.0,
        writer: str = "writer",
    ) -> None:
        self.shard, self.readers, self.writer, self.timeout = shard, readers, writer, timeout
        self.seed_id, self.seed_token = seed
        self.stop = threading.Event()
        self.acked: list[str] = []
        self.write_errors: list[str] = []
        self.reads: list[float] = []  # when each successful read ended
        self.read_failures: list[str] = []
        self.threads = [
            threading.Thread(target=self._write, args=(t,), daemon=True) for t in range(writers)
        ]
        self.threads.append(threading.Thread(target=self._read, daemon=True))

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _client(self) -> StorageClient:
        return StorageClient(
            self.shard.address(self.writer), timeout=self.timeout, readers=self.readers
        )

    def _write(self, thread: int) -> None:
        with self._client() as client:
            i = 0
            while not self.stop.is_set():
                try:
                    self.acked.append(client.learn_concept(f"load {thread} fact {i}").concept_id)
                except StorageError as exc:
                    self.write_errors.append(str(exc))
                i += 1

    def _read(self) -> None:
        with self._client() as client:
            client.last_token = self.seed_token  # read-your-writes: at least the seed's entry
            while not self.stop.is_set():
                try:
                    assert client.get_concept(self.seed_id) is not None
                    self.reads.append(time.monotonic())
                except Exception as exc:
                    self.read_failures.append(repr(exc))
                self.stop.wait(0.01)


def all_found(shard: Shard, name: str, ids: list[str]) -> bool:
    """Every one of `ids` is in member `name`'s store."""
    with shard.client(name) as client:
        return all(
            c is not None
            for i in range(0, len(ids), 500)
            for c in client.get_concepts(ids[i : i + 500])
        )
