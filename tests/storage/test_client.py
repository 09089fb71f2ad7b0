"""Client retries: idempotent calls ride out a server that is not up yet; others do not."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sutra.storage.client import RetryPolicy, StorageClient, Unavailable
from sutra.storage.testing import free_port, run_server


def test_idempotent_calls_retry_until_the_server_is_up(tmp_path: Path) -> None:
    port = free_port()
    ready = threading.Event()
    release = threading.Event()

    def serve_later() -> None:
        with run_server(tmp_path / "data", port=port):
            ready.set()
            release.wait(60)

    patient = RetryPolicy(attempts=200, initial_backoff=0.05, max_backoff=0.25)
    with StorageClient(f"127.0.0.1:{port}", timeout=2.0, retry=patient) as client:
        # Nothing listens yet: a write without an id is not retried.
        with pytest.raises(Unavailable, match=f"127.0.0.1:{port}"):
            client.learn_concept("not retried")
        thread = threading.Thread(target=serve_later)
        thread.start()
        try:
            # Retried through the server's startup.
            assert client.get_concepts(["b" * 32]) == [None]
            assert client.stats().concepts == 0
            assert ready.wait(30)  # run_server may still have been polling when the call got in
            assert client.learn_concept("retried", concept_id="a" * 32).concept_id == "a" * 32
        finally:
            release.set()
            thread.join(timeout=60)


@pytest.mark.parametrize("variable", ["http_proxy", "https_proxy", "grpc_proxy"])
def test_a_proxy_in_the_environment_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """gRPC would tunnel through a proxy named in the environment; service calls never do."""
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    with run_server(tmp_path / "data") as server:
        monkeypatch.setenv(variable, dead_proxy)
        with StorageClient(server.address, timeout=5.0) as client:
            assert client.stats().concepts == 0
