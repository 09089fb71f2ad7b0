"""API tests run real processes on 127.0.0.1: storage server, sutra-hybrid, sutra-api, Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sutra.storage.testing import ServerProcess, run_server


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with run_server(tmp_path_factory.mktemp("storage") / "data") as process:
        yield process
