"""`python -m sutra.control`: serve the operator dashboard (settings from SUTRA_* variables).

Without SUTRA_CONTROL_TOKEN it listens on 127.0.0.1 only, whatever SUTRA_CONTROL_HOST says,
and says so in one warning line at start.
"""

from __future__ import annotations

import logging
import sys

from sutra.common.logging import configure_logging, log_event
from sutra.common.serve import listen, serve, stop_signals
from sutra.common.settings import load_settings
from sutra.control.settings import ControlSettings

NO_TOKEN_WARNING = (
    "no SUTRA_CONTROL_TOKEN set: the dashboard is open to anyone on this machine, "
    "so it listens on 127.0.0.1 only"
)


def main() -> int:
    stop_signals()  # from the start: a SIGTERM while the app is built is kept
    settings = load_settings(ControlSettings, "sutra-control")  # never echoes the token
    log = configure_logging("control", settings.log_level)
    host, port = settings.listen_host, settings.control_port
    sock = listen("sutra-control", host, port, backlog=128)
    if settings.token is None:
        log_event(
            log, NO_TOKEN_WARNING, logging.WARNING, host=host, ignored_host=settings.control_host
        )

    from sutra.control.app import create_app

    app = create_app(settings)
    log_event(
        log,
        "starting",
        host=host,
        port=port,
        interval=settings.control_interval,
        storage=settings.storage_server,
        storage_metrics=settings.storage_metrics_url,
        api=settings.api_url,
        hybrid=settings.hybrid_url,
        client=settings.client_url,
    )
    return serve(
        app,
        sock,
        log,
        graceful_seconds=5,
        # Named, not "auto": without the websockets package the server must fail to start,
        # not serve a dashboard whose live feed silently does not exist.
        ws="websockets-sansio",
        ws_max_size=64 * 1024,  # the page sends nothing of its own
    )


if __name__ == "__main__":
    sys.exit(main())
