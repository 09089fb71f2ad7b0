"""`python -m sutra.hybrid`: settings, embedder, then uvicorn (sutra.common.serve).

A bad setting or an embedder that cannot make SUTRA_VECTOR_DIMENSION-sized vectors stops
the process at once with one line on stderr (exit 2). SIGTERM and SIGINT stop it
cleanly: uvicorn finishes the requests in flight, the lifespan closes the clients, and
the process exits 0.
"""

from __future__ import annotations

from sutra.common.logging import configure_logging
from sutra.common.serve import listen, serve, stop_signals
from sutra.common.settings import fail, load_settings
from sutra.hybrid.settings import HybridSettings

PROGRAM = "sutra-hybrid"


def main() -> int:
    stop_signals()  # from the start: a SIGTERM while the app is built is kept
    settings = load_settings(HybridSettings, PROGRAM)
    log = configure_logging("hybrid", settings.log_level)
    sock = listen(PROGRAM, settings.hybrid_host, settings.hybrid_port)
    from sutra.hybrid.app import create_app
    from sutra.hybrid.embeddings import DimensionMismatch, make_embedder

    try:
        embedder = make_embedder(settings.embedder, settings.vector_dimension, settings.device)
    except (DimensionMismatch, RuntimeError, ValueError) as exc:
        fail(PROGRAM, str(exc))
    app = create_app(settings, embedder)
    return serve(app, sock, log, graceful_seconds=20)
