"""Dashboard tests run real processes: the stack as `make run` starts it, or single services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .support import UpStack, run_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpStack]:
    """One `sutra up` (demo knowledge, admin token, 0.5 s pushes) for the HTTP and browser tests."""
    with run_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running
