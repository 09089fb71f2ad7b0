"""Durable writes and point reads through gRPC against a real storage server process.

Every write figure counts only acknowledged writes, and the server acknowledges a write
after the LMDB commit that holds it returned with fsync (group commit: one fsync per
commit, however many writes it carries). The baseline, measured in the same run on the
same disk, is SQLite in WAL mode with synchronous=FULL, in process (no network, no
serialisation), storing the same rows: one transaction per write or per batch.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from common import Row, percentile, process_cpu_seconds, table, wait_idle

from sutra.storage.client import ConceptInput, StorageClient
from sutra.storage.testing import run_server

DIM = 384
LMDB_POLICY = "LMDB fsync per commit"
SQLITE_POLICY = "SQLite WAL, synchronous=FULL"


class SQLiteBaseline:
    """The same concept rows in SQLite, durably: WAL journal, synchronous=FULL."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        assert self.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        self.db.execute(
            "CREATE TABLE concepts (id BLOB PRIMARY KEY, content TEXT NOT NULL, embedding BLOB,"
            " strength REAL, confidence REAL, created_at REAL, updated_at REAL,"
            " access_count INTEGER) WITHOUT ROWID"
        )

    def write(self, rows: list[tuple]) -> None:
        """One transaction, committed durably before returning."""
        self.db.execute("BEGIN IMMEDIATE")
        self.db.executemany(
            "INSERT OR REPLACE INTO concepts VALUES (?, ?, ?, 1.0, 1.0, ?, ?, 0)", rows
        )
        self.db.execute("COMMIT")

    def get(self, concept_id: bytes) -> tuple:
        return self.db.execute("SELECT * FROM concepts WHERE id = ?", (concept_id,)).fetchone()


def sqlite_rows(concepts: list[ConceptInput]) -> list[tuple]:
    now = time.time()
    return [
        (
            bytes.fromhex(c.concept_id or ""),
            c.content,
            None if c.embedding is None else np.asarray(c.embedding, np.float32).tobytes(),
            now,
            now,
        )
        for c in concepts
    ]


def concepts(prefix: str, start: int, count: int, vectors: np.ndarray | None) -> list[ConceptInput]:
    return [
        ConceptInput(
            content=f"{prefix} concept {i}: water boils at 100 degrees at sea level",
            concept_id=f"{hash((prefix, i)) & (2**128 - 1):032x}",
            embedding=None if vectors is None else vectors[i % len(vectors)],
        )
        for i in range(start, start + count)
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms"


def bare_lmdb_rate(path: Path, count: int, per_txn: int, vector_bytes: int) -> float:
    """Concepts/s of LMDB alone, fsync per transaction, the server's rows, no Python server.

    Random 16-byte keys, a 130-byte concept record and (if `vector_bytes`) a vector in a
    second sub-database, `per_txn` concepts per transaction: the ceiling that the storage
    server's engine (same LMDB flags) cannot pass on this disk, whatever its Python costs.
    """
    import lmdb

    env = lmdb.open(str(path), map_size=1 << 32, max_dbs=4, sync=True, metasync=True)
    try:
        concepts_db, vectors_db = env.open_db(b"concepts"), env.open_db(b"vectors")
        record, vector = b"c" * 130, b"v" * vector_bytes
        started = time.perf_counter()
        for _ in range(count // per_txn):
            with env.begin(write=True) as txn:
                for _ in range(per_txn):
                    key = os.urandom(16)
                    txn.put(key, record, db=concepts_db)
                    if vector_bytes:
                        txn.put(key, vector, db=vectors_db)
        return count / (time.perf_counter() - started)
    finally:
        env.close()


def fsync_latency(path: Path, count: int = 200) -> list[float]:
    samples = []
    with open(path, "wb") as probe:
        for _ in range(count):
            started = time.perf_counter()
            probe.write(b"x" * 4096)
            probe.flush()
            os.fsync(probe.fileno())
            samples.append(time.perf_counter() - started)
    return sorted(samples)


def rate(count: int, fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return count / (time.perf_counter() - started)


def in_flight(tasks: list, workers: int, call: Callable) -> float:
    """Run `call(task)` for every task with `workers` calls in flight; tasks per second."""
    lock, position = threading.Lock(), [0]

    def worker() -> None:
        while True:
            with lock:
                index = position[0]
                position[0] += 1
            if index >= len(tasks):
                return
            call(tasks[index])

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()
    return len(tasks) / (time.perf_counter() - started)


class CpuMeter:
    """CPU time the server process and this (client) process spent, per operation."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid

    def __enter__(self) -> CpuMeter:
        self.server = process_cpu_seconds(self.pid)
        self.client = time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server = process_cpu_seconds(self.pid) - self.server
        self.client = time.process_time() - self.client

    def per(self, count: int, what: str) -> str:
        return (
            f"CPU/{what}: server {self.server / count * 1e6:,.0f} us, "
            f"client {self.client / count * 1e6:,.0f} us"
        )


def minimal_grpc_floor(samples: int) -> list[float]:
    """Round trips of an empty RPC to a bare Python gRPC server (health service only)."""
    import subprocess
    import sys

    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from sutra.storage.testing import free_port, wait_serving

    port = free_port()
    code = (
        "import grpc\nfrom concurrent import futures\n"
        "from grpc_health.v1 import health, health_pb2_grpc\n"
        "s = grpc.server(futures.ThreadPoolExecutor(4))\n"
        "health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), s)\n"
        f"s.add_insecure_port('127.0.0.1:{port}')\ns.start()\ns.wait_for_termination()\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    try:
        wait_serving(f"127.0.0.1:{port}", 30, process)
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            out = []
            for i in range(samples + 100):
                started = time.perf_counter()
                stub.Check(health_pb2.HealthCheckRequest(), timeout=5)
                if i >= 100:
                    out.append(time.perf_counter() - started)
        return sorted(out)
    finally:
        process.kill()
        process.wait()


def alternate(rounds: int, measures: dict[str, Callable[[int], float]]) -> dict[str, float]:
    """Best rate of each measure over rounds that alternate between them.

    The machine may be shared, so background load comes and goes: alternating the server
    and the baseline round by round exposes both to the same conditions, and the best
    round of each is the one least disturbed.
    """
    results: dict[str, list[float]] = {name: [] for name in measures}
    for round_ in range(rounds):
        for name, measure in measures.items():
            results[name].append(measure(round_))
    return {name: max(values) for name, values in results.items()}


def run(quick: bool = False) -> list[Row]:
    singles, batches, reads, rounds = (300, 30, 400, 1) if quick else (1_000, 100, 2_000, 3)
    vectors = np.random.default_rng(7).standard_normal((1000, DIM), dtype=np.float32)
    rows: list[Row] = []
    env = {
        "SUTRA_VECTOR_DIMENSION": str(DIM),
        # keep the vector index exact: an HNSW build in the background would share the two
        # CPUs with the calls being measured (bench/vector_search.py measures the HNSW)
        "SUTRA_VECTOR_HNSW_THRESHOLD": str(10**9),
    }
    with tempfile.TemporaryDirectory(prefix="sutra-bench-writes-") as directory:
        root = Path(directory)
        sqlite = SQLiteBaseline(root / "baseline.sqlite")
        with (
            run_server(root / "data", env=env) as server,
            StorageClient(server.address, timeout=30) as client,
        ):
            print(f"storage_writes: server pid {server.pid} at {server.address}", flush=True)
            cpu = CpuMeter(server.pid)
            cpu_notes: dict[str, list[str]] = {}

            def learn(c: ConceptInput) -> None:
                client.learn_concept(c.content, concept_id=c.concept_id, embedding=c.embedding)

            warm = concepts("warm", 0, 50, None)
            for c in warm:
                learn(c)
            sqlite.write(sqlite_rows(warm))

            # -- single concepts ---------------------------------------------------
            latencies: list[float] = []
            written: list[ConceptInput] = []
            sqlite_written: list[bytes] = []

            def timed(c: ConceptInput) -> None:
                started = time.perf_counter()
                learn(c)
                latencies.append(time.perf_counter() - started)

            def grpc_single(flight: int) -> Callable[[int], float]:
                def measure(round_: int) -> float:
                    count = singles * 2 if flight > 1 else singles
                    work = concepts(f"single {flight} {round_}", 0, count, None)
                    with cpu:
                        if flight == 1:
                            value = rate(len(work), lambda: [timed(c) for c in work])
                        else:
                            value = in_flight(work, flight, learn)
                    cpu_notes.setdefault(f"single {flight}", []).append(cpu.per(len(work), "write"))
                    written.extend(work)
                    return value

                return measure

            def sqlite_single(round_: int) -> float:
                base = sqlite_rows(concepts(f"sqlite single {round_}", 0, singles, None))
                sqlite_written.extend(r[0] for r in base)
                return rate(len(base), lambda: [sqlite.write([r]) for r in base])

            single = alternate(
                rounds,
                {"sqlite": sqlite_single, "grpc 1": grpc_single(1), "grpc 16": grpc_single(16)},
            )
            latencies.sort()
            rows.append(
                Row(
                    "LearnConcept, 1 in flight",
                    single["grpc 1"],
                    "writes/s",
                    single["sqlite"],
                    "SQLite 1 row/txn",
                    note=f"{LMDB_POLICY} vs {SQLITE_POLICY}; p50 {ms(percentile(latencies, 50))}; "
                    + cpu_notes["single 1"][-1],
                )
            )
            rows.append(
                Row(
                    "LearnConcept, 16 in flight",
                    single["grpc 16"],
                    "writes/s",
                    single["sqlite"],
                    "SQLite 1 row/txn",
                    ">= 2,000/s",
                    single["grpc 16"] >= 2000,
                    f"{LMDB_POLICY} (group commit) vs {SQLITE_POLICY}; "
                    + cpu_notes["single 16"][-1],
                )
            )

            # -- batches of 100 ----------------------------------------------------
            for label, vecs in (("content only", None), (f"+ {DIM}-d vector", vectors)):

                def sqlite_batch(round_: int, label=label, vecs=vecs) -> float:
                    work = [
                        sqlite_rows(concepts(f"sqlite {label} {round_}", b * 100, 100, vecs))
                        for b in range(batches)
                    ]
                    return rate(batches * 100, lambda: [sqlite.write(b) for b in work])

                def grpc_batch(flight: int, label=label, vecs=vecs) -> Callable[[int], float]:
                    def measure(round_: int) -> float:
                        work = [
                            concepts(f"{label} {flight} {round_}", b * 100, 100, vecs)
                            for b in range(batches)
                        ]
                        with cpu:
                            value = in_flight(work, flight, client.learn_batch) * 100
                        note = cpu.per(batches * 100, "concept")
                        cpu_notes.setdefault(f"{label} {flight}", []).append(note)
                        return value

                    return measure

                batch = alternate(
                    rounds,
                    {"sqlite": sqlite_batch, "grpc 1": grpc_batch(1), "grpc 4": grpc_batch(4)},
                )
                for flight in (1, 4):
                    value = batch[f"grpc {flight}"]
                    target = ">= 100,000/s" if vecs is None and flight == 4 else ""
                    rows.append(
                        Row(
                            f"LearnBatch x100 ({label}), {flight} in flight",
                            value,
                            "concepts/s",
                            batch["sqlite"],
                            "SQLite 1 txn/batch",
                            target,
                            value >= 100_000 if target else None,
                            f"{LMDB_POLICY} vs {SQLITE_POLICY}; "
                            + cpu_notes[f"{label} {flight}"][-1],
                        )
                    )

            # -- point reads ---------------------------------------------------------
            wait_idle(server.pid)
            rng = np.random.default_rng(3)
            picks = [written[i] for i in rng.integers(0, len(written), reads).tolist()]
            keys = [sqlite_written[i] for i in rng.integers(0, len(sqlite_written), reads)]
            for c in picks[:50]:
                client.get_concept(c.concept_id or "")
            grpc_lat, sqlite_lat = [], []
            with cpu:
                for c in picks:
                    started = time.perf_counter()
                    found = client.get_concept(c.concept_id or "")
                    grpc_lat.append(time.perf_counter() - started)
                    assert found is not None and found.content == c.content
            for key in keys:
                started = time.perf_counter()
                assert sqlite.get(key) is not None
                sqlite_lat.append(time.perf_counter() - started)
            grpc_lat.sort()
            sqlite_lat.sort()
            p50 = percentile(grpc_lat, 50) * 1e3
            rows.append(
                Row(
                    "GetConcept p50, 1 in flight",
                    p50,
                    "ms",
                    percentile(sqlite_lat, 50) * 1e3,
                    "SQLite SELECT in process",
                    "<= 0.5 ms",
                    p50 <= 0.5,
                    f"p99 {ms(percentile(grpc_lat, 99))}; " + cpu.per(reads, "read"),
                )
            )

            # -- what bounds the figures above ---------------------------------------
            floor = []
            for _ in range(reads):
                started = time.perf_counter()
                client.health()
                floor.append(time.perf_counter() - started)
            floor.sort()
            rows.append(
                Row(
                    "health Check p50 (this server, empty RPC)",
                    percentile(floor, 50) * 1e3,
                    "ms",
                    note="the server's own floor for one round trip",
                )
            )
            stats = client.stats()
        bare = minimal_grpc_floor(reads)
        rows.append(
            Row(
                "health Check p50 (bare Python gRPC server)",
                percentile(bare, 50) * 1e3,
                "ms",
                note="grpcio's floor for one round trip on this machine",
            )
        )
        syncs = fsync_latency(root / "fsync.probe")
        rows.append(
            Row(
                "write 4 KiB + fsync p50 (this disk)",
                percentile(syncs, 50) * 1e3,
                "ms",
                note="the floor of one durable commit",
            )
        )
        for label, vector_bytes in (("content only", 0), (f"+ {DIM}-d vector", DIM * 4)):
            for per_txn in (100, 400):
                # a first pass grows the file, as the server's store had grown by then
                bare_lmdb_rate(
                    root / f"bare-{vector_bytes}-{per_txn}", 5_000, per_txn, vector_bytes
                )
                value = bare_lmdb_rate(
                    root / f"bare-{vector_bytes}-{per_txn}",
                    2_000 * batches // 10,
                    per_txn,
                    vector_bytes,
                )
                rows.append(
                    Row(
                        f"LMDB alone, {per_txn}/txn ({label})",
                        value,
                        "concepts/s",
                        note="in process, no server: the disk's ceiling for these rows, "
                        "fsync per transaction",
                    )
                )
        sqlite.db.close()
    print(
        f"storage_writes: the server committed {stats.writes:,} writes in {stats.commits:,} "
        f"commits ({stats.writes / max(1, stats.commits):.1f} writes per fsync)",
        flush=True,
    )
    print(table("storage writes and reads through gRPC (one server process)", rows), flush=True)
    return rows


if __name__ == "__main__":
    import sys

    run(quick="--quick" in sys.argv)
