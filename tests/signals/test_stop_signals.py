"""`StopSignals`: whichever thread takes the signal, and whenever it comes, the stop happens."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from sutra.common.serve import StopSignals
from sutra.common.testing import poll

from .support import STOP_SECONDS, STOPPED, start_http


def test_a_signal_taken_by_another_thread_wakes_the_waiting_main_thread() -> None:
    # SIGUSR1 stands in for SIGTERM, which this test process keeps for itself.
    signals = StopSignals((signal.SIGUSR1,)).install()
    parked = threading.Event()
    worker = threading.Thread(target=parked.wait, args=(30,), daemon=True)
    worker.start()
    try:
        assert signals.wait(timeout=0) is None
        assert worker.ident is not None
        signal.pthread_kill(worker.ident, signal.SIGUSR1)  # to that thread, not the process
        assert signals.wait(timeout=10) == "SIGUSR1"
        assert signals.received == [signal.SIGUSR1]  # recorded by the handler, nothing else
    finally:
        parked.set()
        signals.uninstall()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL


def test_a_sigterm_while_the_service_starts_is_kept_and_stops_it(tmp_path: Path) -> None:
    """Sent once the app is built but maybe before uvicorn runs: still an orderly stop."""
    api = start_http("sutra.api", "API", tmp_path / "api.log")
    try:
        poll(lambda: '"event":"starting"' in api.log(), timeout=60, what="sutra-api starting")
        api.process.send_signal(signal.SIGTERM)
        assert api.process.wait(timeout=STOP_SECONDS) == 0, api.log()[-3000:]
    finally:
        api.stop()
    assert STOPPED in api.log()
