"""`python -m sutra.hybrid`: settings, embedder and uvicorn (uvloop, httptools).

A bad setting or an embedder that cannot make SUTRA_VECTOR_DIMENSION-sized vectors stops
the process at once with one line on stderr (exit 2). SIGTERM and SIGINT stop it
cleanly: uvicorn finishes the requests in flight, the lifespan closes the clients, and
the process exits 0.
"""

from __future__ import annotations

import signal

import uvicorn

from sutra.common.logging import configure_logging
from sutra.common.settings import fail, load_settings
from sutra.hybrid.settings import HybridSettings

PROGRAM = "sutra-hybrid"


def main() -> int:
    settings = load_settings(HybridSettings, PROGRAM)
    configure_logging("hybrid", settings.log_level)
    from sutra.hybrid.app import create_app
    from sutra.hybrid.embeddings import DimensionMismatch, make_embedder

    try:
        embedder = make_embedder(settings.embedder, settings.vector_dimension)
    except (DimensionMismatch, RuntimeError, ValueError) as exc:
        fail(PROGRAM, str(exc))
    app = create_app(settings, embedder)
    config = uvicorn.Config(
        app,
        host=settings.hybrid_host,
        port=settings.hybrid_port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=20,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the stop signal once it has shut down; with these handlers in place
    # that re-raise is a no-op and the process exits 0 after a clean stop.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: None)
    server.run()
    return 0 if server.started else 1
