"""The fault bench's phases as tests: one `sutra up` stack for the module, under steady load.

The breaker is set to judge a short window and to reset after 1.5 s, so that each phase
opens and closes it within a few seconds with four clients.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sutra.stack.faults import FaultStack, Load, fault_stack, seed

FAST_BREAKER = {
    "SUTRA_BREAKER_WINDOW_CALLS": "6",
    "SUTRA_BREAKER_MIN_CALLS": "3",
    "SUTRA_BREAKER_RESET_SECONDS": "1.5",
    "SUTRA_BREAKER_HALF_OPEN_CALLS": "2",
    "SUTRA_READY_TIMEOUT": "0.3",
}
CLIENTS = 4
FAULT_SECONDS = 3.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    folder: Path = tmp_path_factory.mktemp("faults")
    with fault_stack(folder, FAST_BREAKER) as running:
        yield running


@pytest.fixture(scope="module")
def load(stack: FaultStack) -> Iterator[Load]:
    with Load(stack.api, CLIENTS, seed(stack)) as running:
        yield running
