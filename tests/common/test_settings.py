"""Every service that talks to the storage server checks its address the same way at start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sutra.common.settings import host_port
from sutra.common.testing import free_port

STORAGE_CLIENTS = {
    "sutra.api": "SUTRA_API_PORT",
    "sutra.hybrid": "SUTRA_HYBRID_PORT",
    "sutra.control": "SUTRA_CONTROL_PORT",
}


@pytest.mark.parametrize(
    "value", ["storage-server:50051", "127.0.0.1:1", "[::1]:50051", "a.b-c_d:65535"]
)
def test_a_host_and_port_is_accepted(value: str) -> None:
    assert host_port(value) == value


@pytest.mark.parametrize(
    "value", ["storage-server", "storage-server:0", "storage-server:65536", "http://s:1", ":50051"]
)
def test_anything_else_is_refused_with_an_example(value: str) -> None:
    with pytest.raises(ValueError, match=r"expected host:port, e\.g\. storage-server:50051"):
        host_port(value)


@pytest.mark.parametrize("module", sorted(STORAGE_CLIENTS))
def test_a_bad_storage_address_stops_the_service_with_one_line(module: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUTRA_")}
    env |= {"SUTRA_STORAGE_SERVER": "storage-server", STORAGE_CLIENTS[module]: str(free_port())}
    done = subprocess.run(
        [sys.executable, "-m", module], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "SUTRA_STORAGE_SERVER" in line and "expected host:port" in line, line
