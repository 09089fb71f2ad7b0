"""Replicated writes (NATS JetStream log, R3, fsync always) against a single server, same run.

Both sides acknowledge a write only once it is durable: the single server after its LMDB
commit with fsync; the replicated writer after the log entry is on disk on a quorum of
three nats-server nodes AND its own LMDB commit. The cluster, the writer, a follower and
the single server all run on this machine (and its two CPUs) with the load generator.

- LearnBatch of 100 concepts (content only), 4 in flight. Target: >= 0.8x single,
  >= 100,000 concepts/s.
- CPU per 1,000 concepts of the 4-in-flight batch load: writer, follower and the three
  nats-servers against the single server (steadier than throughput on a shared machine).
- LearnConcept, 16 in flight. Target: >= 2,000/s.
- Follower lag p99: from a write's acknowledgement to the follower having applied it
  (the follower's applied sequence sampled every 10 ms during the batch load).
- Failover: writer SIGKILL -> restart -> first acknowledged write of a retrying client.
  Target: < 30 s (goal <= 5 s); baseline: the same for the single server.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from common import Row, percentile, process_cpu_seconds, table
from storage_writes import alternate, concepts, in_flight

from sutra.storage.client import StorageClient
from sutra.storage.errors import Unavailable
from sutra.storage.replication.cluster import run_nats_cluster
from sutra.storage.testing import ServerProcess, free_port, run_server

ENV = {"SUTRA_VECTOR_DIMENSION": "384", "SUTRA_METRICS_PORT": "0"}


@contextlib.contextmanager
def restartable(data: Path, env: dict[str, str]) -> Iterator[Callable[[], ServerProcess]]:
    """A server on a fixed port; the callable (re)starts it after a kill."""
    port = free_port()
    stacks: list[contextlib.ExitStack] = []

    def start() -> ServerProcess:
        stack = contextlib.ExitStack()
        stacks.append(stack)
        return stack.enter_context(run_server(data, port=port, env=env))

    try:
        yield start
    finally:
        for stack in stacks:
            stack.close()


def failover_seconds(server: ServerProcess, start: Callable[[], ServerProcess], client) -> float:
    """SIGKILL, restart, and the time until a retrying client's write is acknowledged."""
    killed = time.perf_counter()
    server.kill()
    acked: list[float] = []

    def write() -> None:  # both sides retried alike: every 50 ms until acknowledged
        while True:
            try:
                client.learn_concept(f"after the kill {killed}", concept_id=f"{int(killed):032x}")
            except Unavailable:
                time.sleep(0.05)
                continue
            acked.append(time.perf_counter())
            return

    writer = threading.Thread(target=write)
    writer.start()
    start()
    writer.join(120)
    return acked[0] - killed


def lag_sampler(follower: StorageClient, stop: threading.Event, samples: list) -> None:
    while not stop.is_set():
        samples.append((time.perf_counter(), follower.replication_status()["sequence"]))
        time.sleep(0.01)


def visibility_lags(acks: list[tuple[float, int]], samples: list[tuple[float, int]]) -> list:
    """For each (ack time, token): seconds until a sample shows the follower past it."""
    lags, j = [], 0
    for acked_at, token in sorted(acks, key=lambda a: a[1]):
        while j < len(samples) and samples[j][1] < token:
            j += 1
        if j < len(samples):
            lags.append(max(0.0, samples[j][0] - acked_at))
    return sorted(lags)


def run(quick: bool = False) -> list[Row]:
    batches, singles, rounds = (30, 300, 1) if quick else (100, 1000, 3)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sutra-bench-replication-") as directory:
        root = Path(directory)
        with (
            run_nats_cluster(root / "nats") as cluster,
            restartable(root / "single", ENV) as start_single,
            restartable(root / "writer", {**ENV, "SUTRA_STORAGE_NATS_URL": cluster.url}) as sw,
        ):
            single, writer = start_single(), sw()
            follower_env = {**ENV, "SUTRA_STORAGE_NATS_URL": cluster.url}
            follower_env["SUTRA_STORAGE_ROLE"] = "follower"
            with (
                run_server(root / "follower", env=follower_env) as follower,
                StorageClient(single.address, timeout=30) as one,
                StorageClient(writer.address, timeout=30, readers=[follower.address]) as rep,
                StorageClient(follower.address, timeout=30, readers=[]) as probe,
            ):
                pids = {
                    "single": [single.pid],
                    "writer": [writer.pid],
                    "follower": [follower.pid],
                    "nats": [node.process.pid for node in cluster.nodes],
                }
                rows += _throughput(one, rep, probe, batches, singles, rounds, pids)
                single_failover = failover_seconds(single, start_single, one)
                replicated_failover = failover_seconds(writer, sw, rep)
                rows.append(
                    Row(
                        "failover: SIGKILL -> restart -> first acked write",
                        replicated_failover,
                        "s",
                        single_failover,
                        "single server, same steps",
                        "< 30 s (goal <= 5 s)",
                        replicated_failover < 30,
                        "writer catches up from its LMDB + the stream tail, claims, serves",
                    )
                )
    return rows


class CpuMeter:
    """CPU seconds each group of processes used during the measured calls.

    Throughput on a shared machine swings with the neighbours' load; the CPU a write costs
    each process swings much less, and says where the replicated path spends it.
    """

    def __init__(self, pids: dict[str, list[int]]) -> None:
        self.pids = pids
        self.used = dict.fromkeys(pids, 0.0)

    def _now(self) -> dict[str, float]:
        return {name: sum(map(process_cpu_seconds, ps)) for name, ps in self.pids.items()}

    @contextlib.contextmanager
    def measuring(self, names: tuple[str, ...]) -> Iterator[None]:
        before = self._now()
        yield
        after = self._now()
        for name in names:
            self.used[name] += after[name] - before[name]


def _throughput(
    one, rep, probe, batches: int, singles: int, rounds: int, pids: dict[str, list[int]]
) -> list[Row]:
    acks: list[tuple[float, int]] = []
    meter = CpuMeter(pids)
    written = {"single": 0, "replicated": 0}

    def batch_measure(
        client: StorageClient, tag: str, record: bool, flight: int = 4
    ) -> Callable[[int], float]:
        def measure(round_: int) -> float:
            work = [concepts(f"{tag} {round_}", b * 100, 100, None) for b in range(batches)]

            def call(batch) -> None:
                client.learn_batch(batch)
                if record:
                    acks.append((time.perf_counter(), client.last_token))

            if flight != 4:
                return in_flight(work, flight, call) * 100
            side = "replicated" if record else "single"
            names = ("writer", "follower", "nats") if record else ("single",)
            with meter.measuring(names):
                rate = in_flight(work, flight, call) * 100
            written[side] += batches * 100
            return rate

        return measure

    def single_measure(client: StorageClient, tag: str) -> Callable[[int], float]:
        def measure(round_: int) -> float:
            work = concepts(f"{tag} one {round_}", 0, singles, None)
            return in_flight(work, 16, lambda c: client.learn_concept(c.content))

        return measure

    stop, samples = threading.Event(), []
    sampler = threading.Thread(target=lag_sampler, args=(probe, stop, samples), daemon=True)
    sampler.start()
    batch = alternate(
        rounds,
        {"single": batch_measure(one, "s", False), "replicated": batch_measure(rep, "r", True)},
    )
    stop.set()
    sampler.join()
    wide = alternate(
        rounds,
        {
            "single": batch_measure(one, "s16", False, 16),
            "replicated": batch_measure(rep, "r16", False, 16),
        },
    )
    single = alternate(
        rounds, {"single": single_measure(one, "s"), "replicated": single_measure(rep, "r")}
    )
    lags = visibility_lags(acks, samples)
    ratio = batch["replicated"] / batch["single"]

    def per_1000(name: str, side: str) -> float:
        return meter.used[name] / max(1, written[side]) * 1e6

    parts = {name: per_1000(name, "replicated") for name in ("writer", "follower", "nats")}
    return [
        Row(
            "LearnBatch x100, 4 in flight, replicated",
            batch["replicated"],
            "concepts/s",
            batch["single"],
            "single server",
            ">= 0.8x and >= 100,000/s",
            ratio >= 0.8 and batch["replicated"] >= 100_000,
            "acked after R3 log fsync on a quorum + LMDB fsync",
        ),
        Row(
            "CPU per 1,000 concepts (LearnBatch x100, 4 in flight)",
            sum(parts.values()),
            "ms",
            per_1000("single", "single"),
            "single server",
            note="writer {writer:.0f} + follower {follower:.0f} + 3 nats-server {nats:.0f}".format(
                **parts
            ),
        ),
        Row(
            "LearnBatch x100, 16 in flight, replicated",
            wide["replicated"],
            "concepts/s",
            wide["single"],
            "single server",
            note="larger groups: the log's round trip is shared by more writes",
        ),
        Row(
            "LearnConcept, 16 in flight, replicated",
            single["replicated"],
            "writes/s",
            single["single"],
            "single server",
            ">= 2,000/s",
            single["replicated"] >= 2000,
        ),
        Row(
            "follower lag p99 (ack -> applied on the follower)",
            percentile(lags, 99) * 1e3 if lags else float("nan"),
            "ms",
            note=f"p50 {percentile(lags, 50) * 1e3:.1f} ms over {len(lags)} batches"
            if lags
            else "no samples",
        ),
    ]


if __name__ == "__main__":
    import sys

    print(table("replication", run(quick="--quick" in sys.argv)))
