"""Serve one ASGI app with uvicorn the same way in every HTTP service, and stop on a signal.

One process, one event loop (uvloop, httptools): Kubernetes scales replicas, not workers. The
port is bound before the app is built, so a taken port is one clear line (exit 2), not a log
trail. SIGTERM and SIGINT stop accepting connections, let requests in flight finish (up to the
service's grace period) and exit 0.

Stop signals are only recorded where they arrive (`StopSignals`); every service, the storage
server and `sutra up` included, logs and stops on ordinary code, never inside a handler.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import time
from collections.abc import Iterable, Iterator
from typing import Any

from sutra.common.logging import log_event
from sutra.common.settings import fail

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
# How long `StopSignals.wait` sleeps between looks at the record when the wakeup fd is not ours
# (an event loop that took it over): the latency of that fallback, not of the normal path.
_FALLBACK_POLL_SECONDS = 1.0


class StopSignals:
    """Stop signals recorded by a handler that does nothing else; acted on by normal code.

    A Python signal handler runs on the main thread between two bytecodes, wherever that thread
    is: inside the logging lock, inside `threading.Event.wait`, inside a child's `wait()`. One
    that logs, sets an event or raises can deadlock on a lock the interrupted code holds, or
    break it half-way. So the handler appends the signal number to a list (one atomic step, no
    lock) and returns. `wait()` sleeps on `signal.set_wakeup_fd`, which the C-level handler
    writes to, so it wakes even when the kernel delivered the signal to another thread (a gRPC
    or executor thread), where a plain `Event.wait` on the main thread would sleep on.
    """

    def __init__(self, signals: Iterable[signal.Signals] = STOP_SIGNALS) -> None:
        self.signals = tuple(signals)
        self.received: list[int] = []  # written by the handler only
        self._woken: list[int] = []  # read from the wakeup fd by `wait()`
        self._read_fd = -1
        self._write_fd = -1
        self._previous: dict[int, Any] = {}
        self._previous_wakeup_fd = -1

    def install(self) -> StopSignals:
        """Take over the signals and the wakeup fd; call from the main thread."""
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._read_fd, False)
        os.set_blocking(self._write_fd, False)
        self._previous_wakeup_fd = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        for number in self.signals:
            self._previous[number] = signal.signal(number, self._record)
        return self

    def uninstall(self) -> None:
        """Give the signals and the wakeup fd back to what had them before `install()`."""
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()
        if signal.set_wakeup_fd(self._previous_wakeup_fd) == self._write_fd:
            os.close(self._write_fd)
            os.close(self._read_fd)

    def _record(self, number: int, _frame: object) -> None:
        self.received.append(number)

    @property
    def name(self) -> str | None:
        """The first stop signal's name (`SIGTERM`), or None while none arrived."""
        first = (self.received or self._woken or [None])[0]
        return None if first is None else signal.Signals(first).name

    def wait(self, timeout: float | None = None) -> str | None:
        """Block until a stop signal arrives (its name), or `timeout` seconds pass (None)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = select.poll()  # not select.select: that fails on descriptors above 1023
        poller.register(self._read_fd, select.POLLIN)
        while self.name is None:
            left = _FALLBACK_POLL_SECONDS
            if deadline is not None:
                left = min(left, deadline - time.monotonic())
                if left <= 0:
                    return None
            if poller.poll(left * 1000):
                self._drain()
        return self.name

    def _drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            for number in os.read(self._read_fd, 512):
                if number in self.signals:
                    self._woken.append(number)


_process_signals: StopSignals | None = None


def stop_signals() -> StopSignals:
    """This process's stop-signal record, installed on first use (from the main thread).

    A service calls it first thing, so that a SIGTERM that arrives while it starts is kept and
    stops it as soon as it serves, instead of killing it half-started or being lost.
    """
    global _process_signals
    if _process_signals is None:
        _process_signals = StopSignals().install()
    return _process_signals


def listen(program: str, host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening socket, or exit 2 with `PROGRAM: cannot listen on HOST:PORT: reason`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=backlog)
    except OSError as exc:
        fail(program, f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def _server(config: Any, signals: StopSignals, log: logging.Logger) -> Any:
    """A uvicorn server that takes its stop from `signals` instead of handlers of its own.

    uvicorn's own handlers would replace ours while it runs (a signal that came during startup
    would be lost with them) and re-raise the signal after the stop (exit 143 instead of 0).
    Its main loop already looks at `should_exit` every 0.1 s; this looks at `signals` there.
    """
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # `signals` owns SIGTERM and SIGINT: nothing to install, nothing to re-raise

        async def on_tick(self, counter: int) -> bool:
            if signals.name is not None and not self.should_exit:
                log_event(log, "stopping", signal=signals.name)
                self.should_exit = True
            return await super().on_tick(counter)

    return Server(config)


def serve(
    app: Any,
    sock: socket.socket,
    log: logging.Logger,
    *,
    graceful_seconds: float,
    **options: Any,
) -> int:
    """Run `app` on `sock` until a stop signal; 0 after a clean stop, 2 if startup failed.

    A second signal during the stop changes nothing: `graceful_seconds` bounds the wait for
    requests in flight.
    """
    signals = stop_signals()
    import uvicorn

    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,  # keep the JSON logging the service configured
        server_header=False,
        # Each service decides itself whether to trust X-Forwarded-For; uvicorn's own handling
        # would trust it from any loopback peer.
        proxy_headers=False,
        timeout_graceful_shutdown=graceful_seconds,
        **options,
    )
    server = _server(config, signals, log)
    with sock:
        server.run(sockets=[sock])
    if not server.started:
        return 2  # startup failed; uvicorn logged why
    log_event(log, "stopped", signal=signals.name)
    return 0
