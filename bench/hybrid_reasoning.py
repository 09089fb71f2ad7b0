"""Reasoning latency: `/sutra/query` over 10,000 learned concepts, default embedder.

Data: generated facts over a vocabulary of made-up entity names ("amber falcon",
"quiet river", ...) in the patterns the service extracts ("X causes Y", "X is a Y",
"X is part of Y", "X contains Y"), plus statements without a pattern that name known
entities; learned through `/sutra/learn/batch` (100 texts per request) until the store
holds at least N concepts (statements and entities). Queries name an entity and ask
along one of its relations ("What does amber falcon cause?").
Figures: `/sutra/query` latency (one request in flight) against, in the same run, the
bare vector search the query starts with (`/sutra/search`: embed, VectorSearch, read the
hits) and the embedding step alone (in process).
"""

from __future__ import annotations

import random
import re
import tempfile
import time
from pathlib import Path

import httpx
from common import Row, percentile, table, wait_idle

ADJECTIVES = tuple(
    re.findall(
        r"\S+",
        """amber azure brisk calm crimson dusty eager faint gentle golden hollow icy jagged
        lively misty noble olive pale quiet rapid rusty silent silver tidal urban velvet wild
        young zesty bold""",
    )
)
NOUNS = tuple(
    re.findall(
        r"\S+",
        """falcon river engine valley lantern harbor meadow crystal forest signal canyon
        glacier orchard beacon circuit comet desert ember fjord garden island jungle kettle
        ledger marble nebula oasis prism quarry reef""",
    )
)
TEMPLATES = (
    "{a} causes {b}.",
    "{a} is a {b}.",
    "{a} is part of {b}.",
    "{a} contains {b}.",
    "{a} leads to {b}.",
)
UNSTRUCTURED = "The {a} transports energy across the region."
QUESTIONS = (
    "What does {a} cause?",
    "What is {a} part of?",
    "What does {a} contain?",
    "What is {a}?",
)


def entity_names(rng: random.Random, count: int) -> list[str]:
    names = [f"{adj} {noun}" for adj in ADJECTIVES for noun in NOUNS]
    names += [f"{adj} {noun} {i}" for i in range(1, 40) for adj in ADJECTIVES for noun in NOUNS]
    rng.shuffle(names)
    return names[:count]


def facts(rng: random.Random, names: list[str]) -> list[str]:
    out = []
    for i, a in enumerate(names):
        b = names[(i * 7 + 13) % len(names)]
        out.append(rng.choice(TEMPLATES).format(a=a.capitalize(), b=b))
        if i % 3 == 0:
            out.append(UNSTRUCTURED.format(a=a))
    return out


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(quick: bool = False) -> list[Row]:
    from sutra.common.testing import free_port, run_http_service
    from sutra.hybrid.embeddings import HashingEmbedder
    from sutra.storage.client import StorageClient
    from sutra.storage.testing import run_server

    target, n_queries = (2_000, 100) if quick else (10_000, 400)
    rng = random.Random(20_261_127)
    names = entity_names(rng, target // 2)
    texts = facts(rng, names)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sutra-bench-hybrid-") as directory:
        root = Path(directory)
        with run_server(root / "data") as storage, StorageClient(storage.address) as store:
            port = free_port()
            env = {
                "SUTRA_STORAGE_SERVER": storage.address,
                "SUTRA_HYBRID_HOST": "127.0.0.1",
                "SUTRA_HYBRID_PORT": str(port),
                "SUTRA_LOG_LEVEL": "WARNING",
            }
            with (
                run_http_service(
                    "sutra.hybrid", env=env, port=port, log_path=root / "hybrid.log"
                ) as hybrid,
                httpx.Client(base_url=hybrid.url, timeout=60) as http,
            ):
                started = time.perf_counter()
                learned = 0
                for start in range(0, len(texts), 100):
                    if store.stats().concepts >= target:
                        break
                    items = [{"text": t} for t in texts[start : start + 100]]
                    response = http.post("/sutra/learn/batch", json={"items": items})
                    response.raise_for_status()
                    learned += len(items)
                ingest = time.perf_counter() - started
                stats = store.stats()
                waited = wait_idle(storage.pid)
                print(
                    f"hybrid_reasoning: learned {learned:,} texts -> {stats.concepts:,} concepts, "
                    f"{stats.associations:,} associations in {ingest:.1f} s "
                    f"({learned / ingest:,.0f} texts/s); storage idle {waited:.0f} s later",
                    flush=True,
                )
                asked = names[: min(len(names), learned)]
                questions = [
                    rng.choice(QUESTIONS).format(a=rng.choice(asked)) for _ in range(n_queries)
                ]
                for q in questions[:20]:  # warm-up: connections, caches, code paths
                    http.post("/sutra/query", json={"query": q}).raise_for_status()
                    http.post("/sutra/search", json={"query": q}).raise_for_status()

                embedder = HashingEmbedder(384)
                vectors = embedder.embed(questions)
                query_times: list[float] = []
                search_times: list[float] = []
                vector_times: list[float] = []
                answered = with_paths = 0
                for q, v in zip(questions, vectors, strict=True):  # interleaved: same load
                    started = time.perf_counter()
                    response = http.post("/sutra/query", json={"query": q})
                    response.raise_for_status()
                    query_times.append(time.perf_counter() - started)
                    body = response.json()
                    answered += bool(body["answer"])
                    with_paths += bool(body["reasoning_paths"])
                    search_times.append(
                        timed(
                            lambda q=q: http.post(
                                "/sutra/search", json={"query": q}
                            ).raise_for_status()
                        )
                    )
                    vector_times.append(timed(lambda v=v: store.vector_search(v, k=10)))
        for q in questions[:20]:
            embedder.embed([q])
        embed_times = [timed(lambda q=q: embedder.embed([q])) for q in questions]

    query_times.sort()
    search_times.sort()
    embed_times.sort()
    vector_times.sort()
    ms = 1000.0
    q50, q95 = percentile(query_times, 50) * ms, percentile(query_times, 95) * ms
    s50, s95 = percentile(search_times, 50) * ms, percentile(search_times, 95) * ms
    e50 = percentile(embed_times, 50) * ms
    note = f"{answered}/{len(questions)} answered, {with_paths} with reasoning paths"
    rows.append(
        Row(
            f"/sutra/query p95, {stats.concepts:,} concepts",
            q95,
            "ms",
            s95,
            "/sutra/search p95",
            "<= 50 ms",
            q95 <= 50,
            note,
        )
    )
    rows.append(Row("/sutra/query p50", q50, "ms", s50, "/sutra/search p50"))
    v50, v95 = percentile(vector_times, 50) * ms, percentile(vector_times, 95) * ms
    rows.append(Row("/sutra/query p50 vs gRPC VectorSearch", q50, "ms", v50, "VectorSearch p50"))
    rows.append(Row("/sutra/search p95 vs gRPC VectorSearch", s95, "ms", v95, "VectorSearch p95"))
    rows.append(
        Row(
            "embed one text (in process) p50",
            e50,
            "ms",
            None,
            "",
            "< 1 ms",
            e50 < 1.0,
            f"p95 {percentile(embed_times, 95) * ms:.3f} ms",
        )
    )
    print(table("hybrid_reasoning", rows), flush=True)
    return rows


if __name__ == "__main__":
    import sys

    run(quick="--quick" in sys.argv)
