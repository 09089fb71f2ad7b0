"""Back-pressure, storage outages, settings and shutdown of the real hybrid process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from sutra.common.testing import free_port, run_http_service
from sutra.storage.testing import run_server
from tests.hybrid.conftest import hybrid_env, start_stack


def test_full_embedding_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    for stack in start_stack(tmp_path, SUTRA_HYBRID_EMBED_QUEUE_SIZE="4"):
        # Seven texts to embed (3 statements, "fact 0..2", "test fact") for a queue of four.
        items = [{"text": f"Fact {i} is a test fact."} for i in range(3)]
        response = stack.http.post("/sutra/learn/batch", json={"items": items})
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) >= 1
        error = response.json()["error"]
        assert error["dependency"] == "embedder" and "queue is full" in error["message"]
        # Nothing was written, and a request that fits goes through.
        assert stack.store.stats().concepts == 0
        ok = stack.http.post("/sutra/learn", json={"text": "Fire is hot."})
        assert ok.status_code == 201
        metrics = stack.http.get("/metrics").text
        assert "sutra_hybrid_embed_queue_rejected_total 7.0" in metrics


def wait_status(client: httpx.Client, path: str, status: int, timeout: float) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(path)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.1)


def test_ready_follows_storage_down_and_back(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with run_server(data) as storage:
        port, storage_port = free_port(), storage.port
        env = hybrid_env(storage.address, port)
        with (
            run_http_service(
                "sutra.hybrid", env=env, port=port, log_path=tmp_path / "hybrid.log"
            ) as hybrid,
            httpx.Client(base_url=hybrid.url, timeout=30.0) as http,
        ):
            assert http.post("/sutra/learn", json={"text": "Salt is a mineral."}).status_code == 201
            storage.kill()

            down = wait_status(http, "/ready", 503, timeout=10)
            assert down.status_code == 503
            assert down.json()["error"]["dependency"] == "storage"
            assert "storage" in down.json()["error"]["message"]
            assert int(down.headers["Retry-After"]) >= 1
            failed = http.post("/sutra/query", json={"query": "what is salt?"})
            assert failed.status_code == 503
            assert failed.json()["error"]["dependency"] == "storage"
            assert http.get("/health").status_code == 200  # alive, just not ready

            with run_server(data, port=storage_port):
                up = wait_status(http, "/ready", 200, timeout=30)
                assert up.status_code == 200, up.text
                answer = http.post("/sutra/query", json={"query": "what is salt?"})
                assert answer.status_code == 200
                assert answer.json()["answer"] == "mineral"
            assert hybrid.terminate() == 0


def test_bad_setting_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sutra.hybrid"],
        env={"SUTRA_HYBRID_PORT": "eighty", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SUTRA_HYBRID_PORT" in lines[0], result.stderr


def test_unavailable_embedder_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sutra.hybrid"],
        env={"SUTRA_EMBEDDER": "semantic", "SUTRA_VECTOR_DIMENSION": "512", "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sutra-hybrid: "), result.stderr
    assert "512" in lines[0] or "semantic extra" in lines[0]


def test_dimension_disagreement_with_storage_is_named(tmp_path: Path) -> None:
    """A hybrid embedding to 128 dimensions against a 384-dimensional store."""
    with run_server(tmp_path / "data") as storage:
        port = free_port()
        env = hybrid_env(storage.address, port, SUTRA_VECTOR_DIMENSION="128")
        with (
            run_http_service(
                "sutra.hybrid",
                env=env,
                port=port,
                log_path=tmp_path / "hybrid.log",
                ready_path="/health",
            ) as hybrid,
            httpx.Client(base_url=hybrid.url, timeout=30.0) as http,
        ):
            ready = http.get("/ready")
            assert ready.status_code == 503
            error = ready.json()["error"]
            assert error["dependency"] == "storage"
            assert "384" in error["message"] and "128" in error["message"]
            refused = http.post("/sutra/learn", json={"text": "Ice is cold."})
            assert refused.status_code == 400
            assert refused.json()["error"]["dependency"] == "storage"
            assert "384" in refused.json()["error"]["message"]
