"""The storage server's volume gauges: statvfs of its data directory, read at scrape time.

The gauges as the running server exports them are checked in test_alert_metrics.py; here the
arithmetic, on statvfs numbers chosen so that each wrong reading gives a different answer.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sutra.storage import metrics
from sutra.storage.metrics import volume_usage

# Fragment size != block size, and free blocks (root's reserve included) != available blocks.
FRSIZE, BSIZE = 4096, 1 << 20
BLOCKS, BFREE, BAVAIL = 1_000_000, 300_000, 250_000


def test_volume_usage_is_what_the_server_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Used counts the blocks reserved for root (the server cannot write there either), in
    fragments, so used / capacity reaches 1 exactly when the server's writes fail."""
    asked: list[Path] = []

    def statvfs(path: str | os.PathLike[str]) -> os.statvfs_result:
        asked.append(Path(path))
        return os.statvfs_result((BSIZE, FRSIZE, BLOCKS, BFREE, BAVAIL, 10, 5, 4, 0, 255))

    monkeypatch.setattr(metrics.os, "statvfs", statvfs)
    used, capacity = volume_usage(tmp_path)
    assert capacity == BLOCKS * FRSIZE == 4_096_000_000
    assert used == (BLOCKS - BAVAIL) * FRSIZE == 3_072_000_000
    assert asked == [tmp_path]
