"""A child on a lifeline stops when the line is cut: SIGTERM first, SIGKILL if it ignores that."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from sutra.stack.lifeline import Lifeline

# Records SIGTERM with the services' own StopSignals, says so, exits 0: an orderly stop.
ORDERLY = """
from sutra.common.serve import stop_signals
signals = stop_signals()
print("ready", flush=True)
print("stopping on", signals.wait(), flush=True)
"""
# Ignores SIGTERM: only the watchdog's SIGKILL ends it.
STUBBORN = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(60)
"""


def spawn(tmp_path: Path, lifeline: Lifeline, source: str, grace: float) -> subprocess.Popen[str]:
    """`python -m sutra.stack.lifeline FD GRACE child`, with `source` as module `child`."""
    (tmp_path / "child.py").write_text(source)
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        lifeline.command("child", grace),
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        text=True,
        pass_fds=(lifeline.read_fd,),
    )


def start(tmp_path: Path, lifeline: Lifeline, source: str, grace: float) -> subprocess.Popen[str]:
    """`spawn`, and wait until the child says it is ready."""
    process = spawn(tmp_path, lifeline, source, grace)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


def test_cutting_the_line_stops_the_child_with_sigterm(tmp_path: Path) -> None:
    lifeline = Lifeline()
    process = start(tmp_path, lifeline, ORDERLY, grace=30)
    lifeline.close()
    assert process.wait(timeout=10) == 0
    assert process.stdout is not None
    assert process.stdout.read() == "stopping on SIGTERM\n"


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(tmp_path: Path) -> None:
    lifeline = Lifeline()
    process = start(tmp_path, lifeline, STUBBORN, grace=0.5)
    lifeline.close()
    assert process.wait(timeout=10) == -signal.SIGKILL


def test_a_parent_gone_before_the_child_looked_is_noticed(tmp_path: Path) -> None:
    """The line was cut while the child was still starting: the end-of-file waits for it."""
    lifeline = Lifeline()
    process = spawn(tmp_path, lifeline, ORDERLY, grace=30)
    lifeline.close()  # at once: the child has not even imported its module yet
    # A SIGTERM before the child recorded stop signals kills it; after, it stops in order.
    assert process.wait(timeout=10) in (0, -signal.SIGTERM)
