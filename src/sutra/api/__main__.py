"""`python -m sutra.api`: serve the public API (settings from SUTRA_* variables).

One process, one event loop (uvloop, httptools); Kubernetes scales replicas, not workers.
SIGTERM stops accepting connections, lets requests in flight finish (up to
SUTRA_API_GRACEFUL_SECONDS) and exits 0.
"""

from __future__ import annotations

import signal
import socket
import sys

from sutra.api.settings import ApiSettings
from sutra.common.logging import configure_logging, log_event
from sutra.common.settings import load_settings


def main() -> int:
    settings = load_settings(ApiSettings, "sutra-api")
    log = configure_logging("api", settings.log_level)
    family = socket.AF_INET6 if ":" in settings.api_host else socket.AF_INET
    try:
        # Bind before anything else runs, so a taken port is one clear line, not a log trail.
        sock = socket.create_server(
            (settings.api_host, settings.api_port), family=family, backlog=2048
        )
    except OSError as exc:
        print(
            f"sutra-api: cannot listen on {settings.api_host}:{settings.api_port}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2

    import uvicorn

    from sutra.api.app import create_app

    app = create_app(settings)
    log_event(
        log,
        "starting",
        host=settings.api_host,
        port=settings.api_port,
        storage=settings.storage_server,
        hybrid=settings.hybrid_url,
        cache="redis" if settings.redis_url else "memory",
    )
    config = uvicorn.Config(
        app,
        host=settings.api_host,
        port=settings.api_port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,  # keep the JSON logging configured above
        timeout_graceful_shutdown=settings.api_graceful_seconds,
        server_header=False,
        # The gateway decides itself whether to trust X-Forwarded-For (SUTRA_TRUST_FORWARDED);
        # uvicorn's own handling would trust it from any loopback peer.
        proxy_headers=False,
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


if __name__ == "__main__":
    sys.exit(main())
