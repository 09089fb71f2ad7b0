"""`python -m sutra.storage`: serve the store (settings from SUTRA_* variables).

The stop signals are recorded before the server's heavy imports (gRPC, LMDB, numpy): as a
container's PID 1 the process would otherwise ignore a SIGTERM that arrives meanwhile.
"""

import sys

from sutra.common.serve import stop_signals


def _role_option(argv: list[str]) -> None:
    """`--role writer|follower`: the same as SUTRA_STORAGE_ROLE (the option wins)."""
    import os

    if not argv:
        return
    if len(argv) == 2 and argv[0] == "--role" and argv[1] in ("writer", "follower"):
        os.environ["SUTRA_STORAGE_ROLE"] = argv[1]
        return
    print("sutra-storage: usage: python -m sutra.storage [--role writer|follower]", file=sys.stderr)
    sys.exit(2)


if __name__ == "__main__":
    stop_signals()
    _role_option(sys.argv[1:])
    from sutra.storage.server import main

    sys.exit(main())
