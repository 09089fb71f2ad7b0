"""`python -m sutra.client`: serve the UI and proxy `/api/` (settings from SUTRA_* variables).

`sutra up` starts it after sutra-api and points it there with SUTRA_API_URL. SIGTERM stops it
cleanly (exit 0).
"""

from __future__ import annotations

import signal
import socket
import sys

from sutra.client.settings import ClientSettings
from sutra.common.logging import configure_logging, log_event
from sutra.common.settings import load_settings


def main() -> int:
    settings = load_settings(ClientSettings, "sutra-client")
    log = configure_logging("client", settings.log_level)
    family = socket.AF_INET6 if ":" in settings.client_host else socket.AF_INET
    try:
        sock = socket.create_server(
            (settings.client_host, settings.client_port), family=family, backlog=1024
        )
    except OSError as exc:
        print(
            f"sutra-client: cannot listen on {settings.client_host}:{settings.client_port}: "
            f"{exc.strerror or exc}",
            file=sys.stderr,
        )
        return 2

    import uvicorn

    from sutra.client.server import create_app

    app = create_app(settings)
    log_event(
        log,
        "starting",
        host=settings.client_host,
        port=settings.client_port,
        api=settings.api_url,
        api_base=settings.api_base,
    )
    config = uvicorn.Config(
        app,
        host=settings.client_host,
        port=settings.client_port,
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    stopped: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda number, _frame: stopped.append(number))
    with sock:
        server.run(sockets=[sock])
    if not server.started:
        return 2
    log_event(log, "stopped", signal=signal.Signals(stopped[0]).name if stopped else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
