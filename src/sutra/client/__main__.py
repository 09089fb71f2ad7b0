"""`python -m sutra.client`: serve the UI and proxy `/api/` (settings from SUTRA_* variables).

`sutra up` starts it after sutra-api and points it there with SUTRA_API_URL. SIGTERM stops it
cleanly (exit 0).
"""

from __future__ import annotations

import sys

from sutra.client.settings import ClientSettings
from sutra.common.logging import configure_logging, log_event
from sutra.common.serve import listen, serve, stop_signals
from sutra.common.settings import load_settings


def main() -> int:
    stop_signals()  # from the start: a SIGTERM while the app is built is kept
    settings = load_settings(ClientSettings, "sutra-client")
    log = configure_logging("client", settings.log_level)
    sock = listen("sutra-client", settings.client_host, settings.client_port, backlog=1024)

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
    return serve(app, sock, log, graceful_seconds=5)


if __name__ == "__main__":
    sys.exit(main())
