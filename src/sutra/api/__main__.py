"""`python -m sutra.api`: serve the public API (settings from SUTRA_* variables).

SIGTERM lets requests in flight finish (up to SUTRA_API_GRACEFUL_SECONDS) and exits 0
(sutra.common.serve).
"""

from __future__ import annotations

import sys

from sutra.api.settings import ApiSettings
from sutra.common.logging import configure_logging, log_event
from sutra.common.serve import listen, serve, stop_signals
from sutra.common.settings import load_settings


def main() -> int:
    stop_signals()  # from the start: a SIGTERM while the app is built is kept
    settings = load_settings(ApiSettings, "sutra-api")
    log = configure_logging("api", settings.log_level)
    sock = listen("sutra-api", settings.api_host, settings.api_port)

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
    return serve(app, sock, log, graceful_seconds=settings.api_graceful_seconds)


if __name__ == "__main__":
    sys.exit(main())
