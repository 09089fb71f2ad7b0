"""Storage tests run real server processes on 127.0.0.1 against real LMDB files."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sutra.storage.client import StorageClient
from sutra.storage.testing import ServerProcess, run_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server shared by a module's tests that do not depend on a fresh store."""
    with run_server(tmp_path_factory.mktemp("storage") / "data") as process:
        yield process


@pytest.fixture
def client(server: ServerProcess) -> Iterator[StorageClient]:
    with StorageClient(server.address, timeout=10.0) as c:
        yield c
