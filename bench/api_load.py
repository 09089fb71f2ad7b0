"""sutra-api under load: wrk and hey on loopback against one gateway process (one worker).

The stack is real: a storage server, sutra-hybrid and sutra-api, each its own process on
127.0.0.1, with the gateway's rate limits off (the load comes from one address).
Figures:
- GET /health of the gateway against a bare FastAPI app with the same one endpoint, served
  the same way (uvicorn, uvloop, httptools, one worker) in the same run: the gateway's own
  overhead (metrics, body limit, error handling) as a ratio;
- GET /concepts/{id} (a storage read through gRPC) at 32 connections: rate and p99, next
  to the rate of the same reads sent straight to storage (GetConcept from an asyncio gRPC
  client, 32 in flight): the ceiling that storage itself sets;
- POST /reason over 10,000 concepts with the default embedder, one request in flight, each
  question new (cache misses), against hybrid's own /sutra/query on the same questions;
  and the same questions again (cache hits);
- at a fixed 100 requests/s (the HPA's per-pod trigger): GET /concepts/{id} (hey -q), and
  POST /reason with repeated questions (cache hits) from a paced asyncio loop: p95. New
  questions at that rate measure hybrid's capacity, not the gateway's: one hybrid process
  answers 1 / (its p50) of them per second with one in flight, see the /reason row.
Load generator and services share the machine's CPUs; the table's notes say how many.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import median

import httpx
import uvloop
from common import Row, percentile, table, wait_idle

from sutra.common.testing import HttpService, free_port, run_http_service, wait_http_ready
from sutra.storage.aio import AsyncStorageClient
from sutra.storage.testing import run_server
from sutra.storage.vectors import available_cpus

NO_LIMITS = {
    f"SUTRA_RATE_LIMIT_{group}": "0"
    for group in ("LEARN", "BATCH", "SEARCH", "REASON", "READ", "DEFAULT")
}

BARE_APP = """
import uvicorn
from fastapi import FastAPI

app = FastAPI()


@app.get("/health")
async def health() -> dict:
    return {"status": "ok", "version": "0", "uptime_seconds": 0.0}


uvicorn.run(app, host="127.0.0.1", port={port}, loop="uvloop", http="httptools",
            access_log=False, log_level="warning", server_header=False, proxy_headers=False)
"""

WRK_REPORT = """
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
                 + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
           latency:percentile(50), latency:percentile(95), latency:percentile(99), errors))
end
"""

WRK_PATHS = """
paths = {{{paths}}}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
"""

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "ba", "do", "fu", "gi", "ha"]
TEMPLATES = ["{a} causes {b}.", "{a} is a kind of {b}.", "{a} contains {b}.", "{a} is part of {b}."]


def word(i: int) -> str:
    """A distinct made-up word per number (so facts link through shared words)."""
    out = []
    for _ in range(4):
        out.append(SYLLABLES[i % len(SYLLABLES)])
        i //= len(SYLLABLES)
    return "".join(out)


def facts(entities: int, count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [
        rng.choice(TEMPLATES).format(
            a=word(rng.randrange(entities)), b=word(rng.randrange(entities))
        )
        for _ in range(count)
    ]


def wrk(url: str, *, connections: int, seconds: int, script: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script + WRK_REPORT)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", lua.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(lua.name).unlink()
    match = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    assert match, out
    requests, duration, p50, p95, p99, errors = (int(g) for g in match.groups())
    return {
        "rate": requests / (duration / 1e6),
        "p50_ms": p50 / 1000,
        "p95_ms": p95 / 1000,
        "p99_ms": p99 / 1000,
        "errors": errors,
        "requests": requests,
    }


def hey_fixed_rate(url: str, *, rate: int, seconds: int, workers: int = 4) -> dict[str, float]:
    """hey at `rate` requests/s in total (`workers` workers, each paced at rate/workers)."""
    out = subprocess.run(
        ["hey", "-z", f"{seconds}s", "-c", str(workers), "-q", str(rate / workers), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p95 = float(re.search(r"95% in ([\d.]+) secs", out).group(1)) * 1000
    p99 = float(re.search(r"99% in ([\d.]+) secs", out).group(1)) * 1000
    codes = dict(re.findall(r"\[(\d+)\]\s+(\d+) responses", out))
    return {
        "rate": rps,
        "p95_ms": p95,
        "p99_ms": p99,
        "non_200": sum(int(n) for code, n in codes.items() if code != "200"),
    }


@contextlib.contextmanager
def bare_app(log_dir: Path) -> Iterator[HttpService]:
    port = free_port()
    log = open(log_dir / "bare.log", "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-c", BARE_APP.replace("{port}", str(port))],
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_http_ready("127.0.0.1", port, "/health", 30, process)
        yield HttpService(process=process, log_path=log_dir / "bare.log", module="bare", port=port)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


async def grpc_reads(address: str, ids: list[str], seconds: float, in_flight: int = 32) -> float:
    """GetConcept calls/s straight from an asyncio gRPC client: what storage itself serves."""
    async with AsyncStorageClient(address, timeout=30) as client:
        done = 0
        stop = time.perf_counter() + seconds

        async def worker(offset: int) -> None:
            nonlocal done
            i = offset
            while time.perf_counter() < stop:
                await client.get_concept(ids[i % len(ids)], embedding=False)
                done += 1
                i += in_flight

        started = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(in_flight)))
        return done / (time.perf_counter() - started)


async def alternating(
    url_a: str, bodies_a: list[dict], url_b: str, bodies_b: list[dict]
) -> tuple[tuple[list[float], int], tuple[list[float], int]]:
    """POST a[0], b[0], a[1], b[1], ... one at a time: (latencies ms, failures) of each."""
    out: list[tuple[list[float], int]] = [([], 0), ([], 0)]
    async with httpx.AsyncClient(timeout=30) as client:
        for body_a, body_b in zip(bodies_a, bodies_b, strict=False):
            for side, (url, body) in enumerate(((url_a, body_a), (url_b, body_b))):
                started = time.perf_counter()
                reply = await client.post(url, json=body)
                out[side][0].append((time.perf_counter() - started) * 1000)
                out[side] = (out[side][0], out[side][1] + (reply.status_code != 200))
    return (sorted(out[0][0]), out[0][1]), (sorted(out[1][0]), out[1][1])


async def timed_posts(
    url: str, bodies: list[dict], *, rate: float | None = None
) -> tuple[list[float], int]:
    """Latencies (ms) of POSTs: one in flight, or started at a fixed `rate` per second."""
    latencies: list[float] = []
    failures = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def one(body: dict) -> None:
            nonlocal failures
            started = time.perf_counter()
            reply = await client.post(url, json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            failures += reply.status_code != 200

        if rate is None:
            for body in bodies:
                await one(body)
        else:
            start = time.perf_counter()
            tasks = []
            for i, body in enumerate(bodies):
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(one(body)))
            await asyncio.gather(*tasks)
    return sorted(latencies), failures


def run(quick: bool = False) -> list[Row]:
    for tool in ("wrk", "hey"):
        if not shutil.which(tool):
            raise RuntimeError(f"{tool} is not installed (apt-get install {tool})")
    seconds = 5 if quick else 15
    n_facts, n_entities = (2_000, 600) if quick else (8_000, 2_000)
    n_questions = 100 if quick else 400
    cpus = available_cpus()
    note = f"{cpus} CPUs shared by wrk, api, hybrid, storage"
    rows: list[Row] = []

    with tempfile.TemporaryDirectory(prefix="sutra-bench-api-") as directory:
        root = Path(directory)
        with run_server(root / "data") as storage:
            hybrid_port, api_port = free_port(), free_port()
            hybrid_env = {
                "SUTRA_HYBRID_PORT": str(hybrid_port),
                "SUTRA_STORAGE_SERVER": storage.address,
                "SUTRA_LOG_LEVEL": "WARNING",
            }
            api_env = {
                "SUTRA_API_PORT": str(api_port),
                "SUTRA_STORAGE_SERVER": storage.address,
                "SUTRA_HYBRID_URL": f"http://127.0.0.1:{hybrid_port}",
                "SUTRA_LOG_LEVEL": "WARNING",
                "SUTRA_REDIS_URL": "",
                **NO_LIMITS,
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
                # --------------------------------------------------- the data
                started = time.perf_counter()
                learned_ids: list[str] = []
                all_facts = facts(n_entities, n_facts)
                for i in range(0, len(all_facts), 100):
                    items = [{"content": f} for f in all_facts[i : i + 100]]
                    reply = http.post("/learn/batch", json={"items": items})
                    reply.raise_for_status()
                    learned_ids += [r["concept_id"] for r in reply.json()["results"]]
                concepts = http.get("/stats").json()["concepts"]
                learned_in = time.perf_counter() - started
                # Storage indexes the new vectors in the background: measure after that.
                waited = wait_idle(storage.pid) + wait_idle(hybrid.pid)
                print(
                    f"api_load: learned {len(all_facts):,} facts -> {concepts:,} concepts in "
                    f"{learned_in:.0f} s; idle {waited:.0f} s later",
                    flush=True,
                )

                # ------------------------------------- trivial endpoint vs bare
                wrk(f"{api.url}/health", connections=32, seconds=2, script="")  # warm-up
                wrk(f"{bare.url}/health", connections=32, seconds=2, script="")
                rounds, round_seconds = (3, 3) if quick else (7, 5)
                gateway_rates, bare_rates, ratios = [], [], []
                for _ in range(rounds):  # alternating, so both see the same background load
                    g = wrk(f"{api.url}/health", connections=32, seconds=round_seconds, script="")
                    b = wrk(f"{bare.url}/health", connections=32, seconds=round_seconds, script="")
                    gateway_rates.append(g["rate"])
                    bare_rates.append(b["rate"])
                    ratios.append(g["rate"] / b["rate"])
                gateway_rate, bare_rate = median(gateway_rates), median(bare_rates)
                ratio = median(ratios)
                print(
                    f"api_load: GET /health gateway {gateway_rate:,.0f} req/s, bare FastAPI "
                    f"{bare_rate:,.0f} req/s, ratio {ratio:.2f} (median of {rounds} pairs: "
                    f"{', '.join(f'{r:.2f}' for r in ratios)})",
                    flush=True,
                )
                rows.append(
                    Row(
                        f"GET /health, 32 connections (median of {rounds} rounds)",
                        gateway_rate,
                        "req/s",
                        bare_rate,
                        "bare FastAPI",
                        ">= 0.8x bare",
                        ratio >= 0.8,
                        f"pairwise ratio median {ratio:.2f}; {note}",
                    )
                )

                # -------------------------------------------- concept reads
                sample = random.Random(1).sample(learned_ids, min(1000, len(learned_ids)))
                script = WRK_PATHS.format(paths=", ".join(f'"/concepts/{c}"' for c in sample))
                wrk(f"{api.url}/concepts/{sample[0]}", connections=32, seconds=2, script=script)
                reads = wrk(
                    f"{api.url}/concepts/{sample[0]}",
                    connections=32,
                    seconds=seconds,
                    script=script,
                )
                assert reads["errors"] == 0, reads
                direct_rate = uvloop.run(grpc_reads(storage.address, sample, seconds))
                print(
                    f"api_load: GET /concepts/{{id}} {reads}; gRPC GetConcept direct "
                    f"{direct_rate:,.0f} calls/s",
                    flush=True,
                )
                rows.append(
                    Row(
                        "GET /concepts/{id}, 32 connections",
                        reads["rate"],
                        "req/s",
                        direct_rate,
                        "gRPC GetConcept, 32 in flight",
                        target=">= 2,500 req/s",
                        met=reads["rate"] >= 2500,
                        note=note,
                    )
                )
                rows.append(
                    Row(
                        "GET /concepts/{id}, 32 connections: p99",
                        reads["p99_ms"],
                        "ms",
                        target="<= 50 ms",
                        met=reads["p99_ms"] <= 50,
                        note=f"p50 {reads['p50_ms']:.1f} ms",
                    )
                )

                # ------------------------------------------------ reasoning
                rng = random.Random(3)
                questions = [
                    f"What does {word(rng.randrange(n_entities))} cause? ({i})"
                    for i in range(n_questions)
                ]
                # Alternate: question 2i straight to hybrid, question 2i+1 through the
                # gateway, so both see the same background load (and no shared cache).
                direct_bodies = [
                    {"query": q, "max_depth": 3, "max_paths": 3, "threshold": 0.3}
                    for q in questions[0::2]
                ]
                bodies = [{"query": q} for q in questions[1::2]]
                pairs = asyncio.run(
                    alternating(
                        f"{hybrid.url}/sutra/query", direct_bodies, f"{api.url}/reason", bodies
                    )
                )
                (direct, failed_direct), (misses, failed) = pairs
                hits, failed_hits = asyncio.run(timed_posts(f"{api.url}/reason", bodies))
                assert failed == failed_hits == failed_direct == 0
                p95_miss, p95_direct = percentile(misses, 95), percentile(direct, 95)
                p95_hit = percentile(hits, 95)
                print(
                    f"api_load: /reason p95 {p95_miss:.1f} ms (hybrid direct {p95_direct:.1f} "
                    f"ms), cached p95 {p95_hit:.2f} ms",
                    flush=True,
                )
                rows.append(
                    Row(
                        f"POST /reason over {concepts:,} concepts, new questions: p95",
                        p95_miss,
                        "ms",
                        p95_direct,
                        "hybrid /sutra/query",
                        "<= 50 ms",
                        p95_miss <= 50,
                        f"1 in flight, p50 {percentile(misses, 50):.1f} ms "
                        f"(hybrid {percentile(direct, 50):.1f} ms)",
                    )
                )
                rows.append(
                    Row(
                        "POST /reason, repeated questions (cache hits): p95",
                        p95_hit,
                        "ms",
                        note=f"p50 {percentile(hits, 50):.2f} ms",
                    )
                )

                # -------------------------------------------- fixed 100 req/s
                fixed = hey_fixed_rate(f"{api.url}/concepts/{sample[0]}", rate=100, seconds=seconds)
                print(f"api_load: GET /concepts/{{id}} at 100 req/s {fixed}", flush=True)
                rows.append(
                    Row(
                        "GET /concepts/{id} at 100 req/s (hey -q): p95",
                        fixed["p95_ms"],
                        "ms",
                        target="<= 10 ms",
                        met=fixed["p95_ms"] <= 10 and fixed["non_200"] == 0,
                        note=f"achieved {fixed['rate']:.0f} req/s, p99 {fixed['p99_ms']:.1f} ms",
                    )
                )
                # The same questions again, paced: the cached answers a popular question gets.
                paced_bodies = [bodies[i % len(bodies)] for i in range(100 * seconds)]
                paced, failed_paced = asyncio.run(
                    timed_posts(f"{api.url}/reason", paced_bodies, rate=100)
                )
                p95_paced = percentile(paced, 95)
                print(f"api_load: cached /reason at 100 req/s p95 {p95_paced:.1f} ms", flush=True)
                rows.append(
                    Row(
                        "POST /reason at 100 req/s, repeated questions: p95",
                        p95_paced,
                        "ms",
                        target="<= 10 ms",
                        met=p95_paced <= 10 and failed_paced == 0,
                        note=f"{failed_paced} failed, p50 {percentile(paced, 50):.1f} ms",
                    )
                )
    print(table("api_load", rows), flush=True)
    return rows


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
