"""Every service stops on SIGTERM while idle, ROUNDS times in a row: exit 0 within 10 s.

The five services run their rounds side by side (one thread each), so the test costs about
the CPU time of all the starts spread over the machine's cores, not their sum in wall time.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sutra.storage.testing import run_server

from .support import ROUNDS, STOPPED, STOPPING, count_in_log, start_http, stop_in_time

HTTP_SERVICES = {  # name: (module, prefix of its host and port variables)
    "sutra-hybrid": ("sutra.hybrid", "HYBRID"),
    "sutra-api": ("sutra.api", "API"),
    "sutra-control": ("sutra.control", "CONTROL"),
    "sutra-client": ("sutra.client", "CLIENT"),
}


def storage_rounds(data_dir: Path, log_path: Path) -> None:
    """The same store reopened and stopped every round."""
    for round_ in range(ROUNDS):
        with run_server(data_dir, log_path=log_path) as server:
            stop_in_time(server, round_, "storage-server")


def http_rounds(name: str, log_path: Path) -> None:
    module, prefix = HTTP_SERVICES[name]
    for round_ in range(ROUNDS):
        service = start_http(module, prefix, log_path)
        try:
            service.wait_ready("/health")
            stop_in_time(service, round_, name)
        finally:
            service.stop()


@pytest.mark.slow
def test_every_service_stops_on_sigterm_when_idle(tmp_path: Path) -> None:
    logs = {name: tmp_path / f"{name}.log" for name in ["storage-server", *HTTP_SERVICES]}
    jobs: dict[str, Callable[[], None]] = {
        "storage-server": lambda: storage_rounds(tmp_path / "data", logs["storage-server"]),
        **{name: (lambda n=name: http_rounds(n, logs[n])) for name in HTTP_SERVICES},
    }
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
    failures = {name: f.exception() for name, f in futures.items() if f.exception()}
    assert not failures, failures
    for name, log in logs.items():
        # Both lines of every stop, written by ordinary code after the handler recorded it.
        assert count_in_log(log, STOPPING) == ROUNDS, name
        assert count_in_log(log, STOPPED) == ROUNDS, name
