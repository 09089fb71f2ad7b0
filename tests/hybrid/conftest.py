"""sutra-hybrid tests run a real storage server and a real hybrid process on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from sutra.common.testing import HttpService, free_port, run_http_service
from sutra.storage.client import StorageClient
from sutra.storage.testing import ServerProcess, run_server


@dataclass
class Stack:
    storage: ServerProcess
    hybrid: HttpService
    http: httpx.Client
    store: StorageClient


def hybrid_env(storage_address: str, port: int, **extra: str) -> dict[str, str]:
    return {
        "SUTRA_STORAGE_SERVER": storage_address,
        "SUTRA_HYBRID_HOST": "127.0.0.1",
        "SUTRA_HYBRID_PORT": str(port),
        "SUTRA_VECTOR_DIMENSION": "384",
        "SUTRA_EMBEDDER": "hashing",
        **extra,
    }


def start_stack(root: Path, **extra: str) -> Iterator[Stack]:
    with run_server(root / "data") as storage:
        port = free_port()
        with (
            run_http_service(
                "sutra.hybrid",
                env=hybrid_env(storage.address, port, **extra),
                port=port,
                log_path=root / "hybrid.log",
            ) as hybrid,
            httpx.Client(base_url=hybrid.url, timeout=30.0) as http,
            StorageClient(storage.address, timeout=10.0) as store,
        ):
            yield Stack(storage, hybrid, http, store)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One storage server and one hybrid service shared by a module's tests."""
    yield from start_stack(tmp_path_factory.mktemp("hybrid"))
