"""SUTRA_DEVICE: where embeddings run, reported by /ready and /metrics.

This machine has no GPU: cpu and auto are run for real, cuda must stop the start with one
line; a GPU is only simulated where the choice itself is under test."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from sutra.common.testing import free_port
from sutra.hybrid import embeddings
from sutra.hybrid.embeddings import DeviceUnavailable, make_embedder, resolve_device
from sutra.hybrid.settings import HybridSettings
from tests.hybrid.conftest import start_stack


def test_the_default_is_auto(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUTRA_DEVICE", raising=False)
    assert HybridSettings().device == "auto"
    monkeypatch.setenv("SUTRA_DEVICE", "gpu")
    with pytest.raises(ValueError, match="device"):
        HybridSettings()


@pytest.mark.parametrize(
    ("requested", "gpu", "chosen"),
    [("auto", True, "cuda"), ("auto", False, "cpu"), ("cpu", True, "cpu"), ("cuda", True, "cuda")],
)
def test_resolve_device(requested: str, gpu: bool, chosen: str) -> None:
    assert resolve_device(requested, lambda: gpu) == chosen


def test_cuda_without_a_gpu_is_refused() -> None:
    with pytest.raises(DeviceUnavailable, match="SUTRA_DEVICE=cuda"):
        resolve_device("cuda", lambda: False)


def test_without_torch_auto_is_cpu_and_cuda_the_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def hide_torch(name: str, *args: object) -> object:
        return None if name.split(".")[0] == "torch" else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(embeddings.importlib.util, "find_spec", hide_torch)
    assert not embeddings.cuda_available()
    assert resolve_device("auto") == "cpu"
    with pytest.raises(DeviceUnavailable):
        resolve_device("cuda")


def test_this_machine_resolves_auto_to_cpu() -> None:
    assert embeddings.cuda_available() is False
    assert resolve_device("auto") == "cpu"


def test_hashing_ignores_the_device_but_cuda_must_exist() -> None:
    assert make_embedder("hashing", 384, "auto").device == "cpu"  # type: ignore[attr-defined]
    with pytest.raises(DeviceUnavailable):
        make_embedder("hashing", 384, "cuda")


def test_cuda_at_start_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sutra.hybrid"],
        env={"SUTRA_DEVICE": "cuda", "SUTRA_HYBRID_PORT": str(free_port()), "PATH": ""},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sutra-hybrid: "), result.stderr
    assert "SUTRA_DEVICE=cuda" in lines[0] and "CUDA is not available" in lines[0]


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_ready_and_metrics_report_the_device(tmp_path: Path, device: str) -> None:
    for stack in start_stack(tmp_path, SUTRA_DEVICE=device):
        ready = stack.http.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["device"] == "cpu"
        text = stack.http.get("/metrics").text
        assert 'sutra_hybrid_device_info{device="cpu"} 1.0' in text
        assert 'device="cuda"' not in text
