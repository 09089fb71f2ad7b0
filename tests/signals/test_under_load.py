"""SIGTERM under write load, ROUNDS times per service: exit 0 within 10 s, nothing acked lost.

Three loops run side by side and share one `Load`:

- the storage server, restarted on the same store every round, stopped while gRPC writers
  are busy;
- sutra-hybrid, restarted every round in front of a storage server that stays up, stopped
  while its /sutra/learn writers are busy;
- sutra-api, restarted every round in front of a hybrid and a storage server that stay up,
  stopped while its /learn writers are busy.

At the end both stores are opened again and every acknowledged write must be in them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sutra.common.testing import HttpService
from sutra.storage.engine import MAX_GET_CONCEPTS, Engine
from sutra.storage.testing import run_server

from .load import Load
from .support import ROUNDS, STOPPED, STOPPING, count_in_log, start_http, stop_in_time

WRITES_BEFORE_STOP = 10  # acknowledged since the aim: the load is really flowing


def storage_rounds(load: Load, data_dir: Path, log: Path) -> None:
    for round_ in range(ROUNDS):
        with run_server(data_dir, log_path=log) as storage:
            load.aim("storage", storage.address)
            try:
                load.wait_for_writes("storage", WRITES_BEFORE_STOP)
                stop_in_time(storage, round_, "storage-server")
            finally:
                load.disarm("storage")


def http_rounds(
    load: Load, path: str, start: Callable[[], HttpService], ready_path: str = "/ready"
) -> None:
    """`start` a service, load it on `path`, stop it; ROUNDS times."""
    for round_ in range(ROUNDS):
        service = start()
        try:
            service.wait_ready(ready_path)
            load.aim(path, service.url)
            load.wait_for_writes(path, WRITES_BEFORE_STOP)
            stop_in_time(service, round_, service.module)
        finally:
            load.disarm(path)
            service.stop()


@contextlib.contextmanager
def running_hybrid(storage_address: str, log: Path) -> Iterator[HttpService]:
    """A sutra-hybrid that stays up for the API's rounds."""
    hybrid = start_http("sutra.hybrid", "HYBRID", log, {"SUTRA_STORAGE_SERVER": storage_address})
    try:
        hybrid.wait_ready()
        yield hybrid
    finally:
        hybrid.stop()


def missing(data_dir: Path, ids: list[str]) -> list[str]:
    """The ids that the store, opened again, does not have."""
    unique = sorted(set(ids))
    engine = Engine(data_dir)
    try:
        found = [
            concept
            for start in range(0, len(unique), MAX_GET_CONCEPTS)
            for concept in engine.get_concepts(unique[start : start + MAX_GET_CONCEPTS])
        ]
    finally:
        engine.close()
    return [cid for cid, concept in zip(unique, found, strict=True) if concept is None]


@pytest.mark.slow
def test_sigterm_under_write_load_exits_zero_and_keeps_every_acknowledged_write(
    tmp_path: Path,
) -> None:
    logs = {n: tmp_path / f"{n}.log" for n in ("storage-server", "sutra-hybrid", "sutra-api")}
    restarted, kept = tmp_path / "restarted", tmp_path / "kept"
    load = Load(writers_per_path=3)
    try:
        with (
            run_server(kept, log_path=tmp_path / "kept-storage.log") as storage,
            running_hybrid(storage.address, tmp_path / "kept-hybrid.log") as hybrid,
            ThreadPoolExecutor(3) as pool,
        ):
            to_storage = {"SUTRA_STORAGE_SERVER": storage.address}
            to_hybrid = {**to_storage, "SUTRA_HYBRID_URL": hybrid.url}

            def new_hybrid() -> HttpService:
                return start_http("sutra.hybrid", "HYBRID", logs["sutra-hybrid"], to_storage)

            def new_api() -> HttpService:
                return start_http("sutra.api", "API", logs["sutra-api"], to_hybrid)

            futures = {
                "storage-server": pool.submit(
                    storage_rounds, load, restarted, logs["storage-server"]
                ),
                "sutra-hybrid": pool.submit(http_rounds, load, "hybrid", new_hybrid),
                "sutra-api": pool.submit(http_rounds, load, "api", new_api),
            }
            failures = {name: f.exception() for name, f in futures.items() if f.exception()}
    finally:
        load.close()
    assert not failures, failures
    for name, log in logs.items():
        assert count_in_log(log, STOPPING) == ROUNDS, name
        assert count_in_log(log, STOPPED) == ROUNDS, name
    for path, store in (("storage", restarted), ("hybrid", kept), ("api", kept)):
        acknowledged = load.acknowledged(path)
        assert len(acknowledged) >= ROUNDS * WRITES_BEFORE_STOP, path
        assert missing(store, acknowledged) == [], f"acknowledged {path} writes lost"
