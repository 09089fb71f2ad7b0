"""`python -m sutra.storage`: serve the store (settings from SUTRA_* variables).

The stop signals are recorded before the server's heavy imports (gRPC, LMDB, numpy): as a
container's PID 1 the process would otherwise ignore a SIGTERM that arrives meanwhile.
"""

import sys

from sutra.common.serve import stop_signals

if __name__ == "__main__":
    stop_signals()
    from sutra.storage.server import main

    sys.exit(main())
