"""Serve one ASGI app with uvicorn the same way in every HTTP service.

One process, one event loop (uvloop, httptools): Kubernetes scales replicas, not workers. The
port is bound before the app is built, so a taken port is one clear line (exit 2), not a log
trail. SIGTERM and SIGINT stop accepting connections, let requests in flight finish and exit 0.
"""

from __future__ import annotations

import logging
import signal
import socket
from typing import Any

from sutra.common.logging import log_event
from sutra.common.settings import fail


def listen(program: str, host: str, port: int, backlog: int = 2048) -> socket.socket:
    """The listening socket, or exit 2 with `PROGRAM: cannot listen on HOST:PORT: reason`."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=backlog)
    except OSError as exc:
        fail(program, f"cannot listen on {host}:{port}: {exc.strerror or exc}")


def serve(
    app: Any,
    sock: socket.socket,
    log: logging.Logger,
    *,
    graceful_seconds: float,
    **options: Any,
) -> int:
    """Run `app` on `sock` until a stop signal; 0 after a clean stop, 2 if startup failed."""
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
    server = uvicorn.Server(config)
    # uvicorn re-raises the stop signal once it has shut down, under the handlers that were
    # installed before it ran; with these the re-raise is a no-op and the exit code stays 0.
    stopped: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _frame: stopped.append(number))
    with sock:
        server.run(sockets=[sock])
    if not server.started:
        return 2  # startup failed; uvicorn logged why
    log_event(log, "stopped", signal=signal.Signals(stopped[0]).name if stopped else None)
    return 0
