"""sutra-api latency under load, beside a bare FastAPI route served the same way (the ceiling).

The stack is real: a storage server, sutra-hybrid and sutra-api, each its own process on
127.0.0.1, rate limits off. The bare app is one FastAPI `GET /hello` route run by the same
`sutra.common.serve` (uvicorn, uvloop, httptools, one worker, no access log). The load
client is an asyncio HTTP/1.1 keep-alive client in this process (uvloop): each connection
sends its next request when the previous answer is in. Figures:
- GET /concepts/{id} at 64 connections: req/s and p50/p99, rounds alternating with the bare
  route at 64 connections; the ratio is the gateway's share of the ceiling;
- POST /reason on a ~1k-concept set (src/sutra/stack/demo_knowledge.txt plus generated
  facts), a new question each time (cache misses), one in flight: p50/p95, alternating with
  the same kind of question sent straight to hybrid's /sutra/query; then the same questions
  again (cache hits).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from statistics import median

import httpx
import uvloop
from api_load import NO_LIMITS, facts, word
from common import Row, percentile, process_cpu_seconds, table, wait_idle

from sutra.common.testing import HttpService, free_port, run_http_service, wait_http_ready
from sutra.storage.testing import run_server
from sutra.storage.vectors import available_cpus

DEMO = Path(__file__).resolve().parents[1] / "src/sutra/stack/demo_knowledge.txt"
CONNECTIONS = 64
BARE_APP = """
import logging
from fastapi import FastAPI
from sutra.common.serve import listen, serve

app = FastAPI()


@app.get("/hello")
async def hello() -> dict:
    return {"hello": "world"}


serve(app, listen("bare", "127.0.0.1", {port}), logging.getLogger("bare"), graceful_seconds=1)
"""


@contextlib.contextmanager
def bare_app(log_dir: Path) -> Iterator[HttpService]:
    port = free_port()
    log = open(log_dir / "bare.log", "ab")  # noqa: SIM115 - closed below
    script = BARE_APP.replace("{port}", str(port))
    process = subprocess.Popen([sys.executable, "-c", script], stdout=log, stderr=log)
    try:
        wait_http_ready("127.0.0.1", port, "/hello", 30, process)
        yield HttpService(process=process, log_path=log_dir / "bare.log", module="bare", port=port)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


# ------------------------------------------------------------------------- load client


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 answer with a Content-Length body; its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _connection(
    port: int, requests: list[bytes], stop: float, latencies: list[float], offset: int
) -> Counter[int]:
    """Send requests back to back on one keep-alive connection until `stop`; the statuses
    that were not 200, counted."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    failures: Counter[int] = Counter()
    i = offset
    try:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            writer.write(requests[i % len(requests)])
            status = await _answer(reader)
            latencies.append((time.perf_counter() - started) * 1000)
            if status != 200:
                failures[status] += 1
            i += 1
    finally:
        writer.close()
    return failures


async def _load(port: int, requests: list[bytes], seconds: float, connections: int) -> dict:
    """Rate of 200 answers, latency of all answers, and the other statuses counted."""
    latencies: list[float] = []
    stop = time.perf_counter() + seconds
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(_connection(port, requests, stop, latencies, k) for k in range(connections))
    )
    elapsed = time.perf_counter() - started
    failures = sum(counts, Counter())
    latencies.sort()
    return {
        "rate": (len(latencies) - failures.total()) / elapsed,
        "answers": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "failures": failures.total(),
        **{f"status_{code}": n for code, n in sorted(failures.items())},
    }


def load(
    port: int,
    paths: list[str],
    seconds: float,
    connections: int = CONNECTIONS,
    pids: dict[str, int] | None = None,
) -> dict:
    """GET `paths` (in turn) at `connections` keep-alive connections for `seconds`; with
    `pids`, also each process's CPU time per request (us): a figure the machine's other
    load hardly moves, unlike the rate."""
    requests = [f"GET {p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() for p in paths]
    before = {name: process_cpu_seconds(pid) for name, pid in (pids or {}).items()}
    out = uvloop.run(_load(port, requests, seconds, connections))
    served = out["answers"]
    for name, pid in (pids or {}).items():
        out[f"{name}_cpu_us"] = (process_cpu_seconds(pid) - before[name]) / served * 1e6
    return out


# ------------------------------------------------------------------------------ the data


def knowledge(target_concepts: int) -> list[str]:
    """The demo facts, then generated ones (about 2 concepts each) up to the target."""
    demo = [
        line.strip()
        for line in DEMO.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return demo + facts(target_concepts // 3, target_concepts * 10 // 16)


def teach(http: httpx.Client, lines: list[str]) -> list[str]:
    ids: list[str] = []
    for i in range(0, len(lines), 100):
        reply = http.post(
            "/learn/batch", json={"items": [{"content": f} for f in lines[i : i + 100]]}
        )
        reply.raise_for_status()
        ids += [r["concept_id"] for r in reply.json()["results"]]
    return ids


def questions(count: int, entities: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    demo = ["What does smoking cause?", "What is the heart part of?", "What transports oxygen?"]
    out = [f"{rng.choice(demo)} ({i})" for i in range(count // 4)]
    return out + [f"What does {word(rng.randrange(entities))} cause? ({i})" for i in range(count)]


async def _posts(url_a: str, bodies_a: list[dict], url_b: str, bodies_b: list[dict]) -> tuple:
    """POST a[0], b[0], a[1], b[1], ... one at a time: the sorted latencies (ms) of each."""
    out: tuple[list[float], list[float]] = ([], [])
    async with httpx.AsyncClient(timeout=30) as client:
        for pair in zip(bodies_a, bodies_b, strict=False):
            for side, (url, body) in enumerate(zip((url_a, url_b), pair, strict=True)):
                started = time.perf_counter()
                (await client.post(url, json=body)).raise_for_status()
                out[side].append((time.perf_counter() - started) * 1000)
    return sorted(out[0]), sorted(out[1])


# ------------------------------------------------------------------------------ the bench


def _rounded(rounds: Iterable[dict]) -> str:
    return json.dumps([{k: round(v, 1) for k, v in r.items()} for r in rounds])


def concept_reads(
    api: HttpService, bare: HttpService, storage_pid: int, ids: list[str], quick: bool
) -> list[Row]:
    paths = [f"/concepts/{c}" for c in random.Random(1).sample(ids, min(500, len(ids)))]
    load(api.port, paths, 2)  # warm-up
    load(bare.port, ["/hello"], 2)
    rounds, seconds = (3, 3) if quick else (5, 5)
    client = os.getpid()
    api_pids = {"api": api.process.pid, "storage": storage_pid, "client": client}
    bare_pids = {"bare": bare.process.pid, "client": client}
    pairs = [
        (
            load(api.port, paths, seconds, pids=api_pids),
            load(bare.port, ["/hello"], seconds, pids=bare_pids),
        )
        for _ in range(rounds)
    ]
    rate = median(a["rate"] for a, _ in pairs)
    bare_rate = median(b["rate"] for _, b in pairs)
    p99 = median(a["p99_ms"] for a, _ in pairs)
    bare_p99 = median(b["p99_ms"] for _, b in pairs)
    failures = sum(a["failures"] for a, _ in pairs)
    print(f"api_latency: GET /concepts/{{id}} rounds {_rounded(a for a, _ in pairs)}")
    print(f"api_latency: bare GET /hello rounds {_rounded(b for _, b in pairs)}", flush=True)
    note = f"{CONNECTIONS} connections, median of {rounds} alternating rounds"
    reads = Row(
        "GET /concepts/{id}",
        rate,
        "req/s",
        bare_rate,
        "bare FastAPI /hello",
        target=">= 2,500 req/s",
        met=rate >= 2500 and failures == 0,
        note=f"{note}; {failures} answers not 200 (by status in the rounds printed above)",
    )
    tail = Row(
        "GET /concepts/{id}: p99",
        p99,
        "ms",
        bare_p99,
        "bare FastAPI /hello",
        target="<= 50 ms",
        met=p99 <= 50,
        note=f"p50 {median(a['p50_ms'] for a, _ in pairs):.1f} ms",
    )
    cpu = Row(
        "GET /concepts/{id}: api CPU per request",
        median(a["api_cpu_us"] for a, _ in pairs),
        "us",
        median(b["bare_cpu_us"] for _, b in pairs),
        "bare FastAPI /hello",
        note=f"storage {median(a['storage_cpu_us'] for a, _ in pairs):.0f} us, load client "
        f"{median(a['client_cpu_us'] for a, _ in pairs):.0f} us per request",
    )
    return [reads, tail, cpu]


def reasoning(api: HttpService, hybrid: HttpService, entities: int, quick: bool) -> list[Row]:
    asked = questions(120 if quick else 400, entities, seed=3)
    direct = [{"query": q, "max_depth": 3, "max_paths": 3, "threshold": 0.3} for q in asked[0::2]]
    public = [{"query": q} for q in asked[1::2]]
    via_hybrid, misses = asyncio.run(
        _posts(f"{hybrid.url}/sutra/query", direct, f"{api.url}/reason", public)
    )
    again = asyncio.run(_posts(f"{api.url}/reason", public, f"{api.url}/reason", public))
    hits = sorted(again[0] + again[1])
    p95, p95_direct = percentile(misses, 95), percentile(via_hybrid, 95)
    print(
        f"api_latency: POST /reason p50/p95 {percentile(misses, 50):.1f}/{p95:.1f} ms, "
        f"hybrid direct {percentile(via_hybrid, 50):.1f}/{p95_direct:.1f} ms, "
        f"cached {percentile(hits, 50):.2f}/{percentile(hits, 95):.2f} ms",
        flush=True,
    )
    new = Row(
        "POST /reason, new questions: p95",
        p95,
        "ms",
        p95_direct,
        "hybrid /sutra/query",
        target="<= 50 ms",
        met=p95 <= 50,
        note=f"1 in flight, {len(misses)} questions, p50 {percentile(misses, 50):.1f} ms",
    )
    cached = Row(
        "POST /reason, cache hits: p95",
        percentile(hits, 95),
        "ms",
        note=f"p50 {percentile(hits, 50):.2f} ms",
    )
    return [new, cached]


def run(quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    lines = knowledge(1000)
    with tempfile.TemporaryDirectory(prefix="sutra-bench-latency-") as directory:
        root = Path(directory)
        with run_server(root / "data") as storage:
            hybrid_port, api_port = free_port(), free_port()
            common_env = {"SUTRA_STORAGE_SERVER": storage.address, "SUTRA_LOG_LEVEL": "WARNING"}
            hybrid_env = {**common_env, "SUTRA_HYBRID_PORT": str(hybrid_port)}
            api_env = {
                **common_env,
                **NO_LIMITS,
                "SUTRA_API_PORT": str(api_port),
                "SUTRA_HYBRID_URL": f"http://127.0.0.1:{hybrid_port}",
                "SUTRA_REDIS_URL": "",
            }
            with (
                run_http_service(
                    "sutra.hybrid", env=hybrid_env, port=hybrid_port, log_path=root / "hybrid.log"
                ) as hybrid,
                run_http_service(
                    "sutra.api", env=api_env, port=api_port, log_path=root / "api.log"
                ) as api,
                bare_app(root) as bare,
                httpx.Client(base_url=api.url, timeout=120) as http,
            ):
                ids = teach(http, lines)
                concepts = http.get("/stats").json()["concepts"]
                waited = wait_idle(storage.pid) + wait_idle(hybrid.pid)
                print(
                    f"api_latency: {len(lines)} facts -> {concepts} concepts; idle after "
                    f"{waited:.0f} s; {available_cpus()} CPUs shared by client and services",
                    flush=True,
                )
                rows += concept_reads(api, bare, storage.pid, ids, quick)
                rows += reasoning(api, hybrid, 1000 // 3, quick)
    print(table("api_latency", rows), flush=True)
    return rows


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
