"""Shard tests: real storage server processes on 127.0.0.1, each shard a plain single node."""

from __future__ import annotations

ENV = {
    "SUTRA_VECTOR_DIMENSION": "32",
    "SUTRA_METRICS_PORT": "0",
    "SUTRA_VECTOR_HNSW_THRESHOLD": str(10**9),  # exact search on every server: comparable
}
