"""A child of `sutra up` stops when `sutra up` is gone, however it went (SIGKILL included).

    python -m sutra.stack.lifeline FD GRACE MODULE    # python -m MODULE, watched

`sutra up` holds the write end of a pipe and never writes to it; each child inherits only the
read end, as FD. The kernel closes the write end when `sutra up` exits, for whatever reason,
so a read on FD returns end-of-file exactly then. A watchdog thread in the child waits for
that, sends its own process SIGTERM (the service's orderly stop: the store commits its queue),
and SIGKILL if it is still there GRACE seconds later.

Why a pipe and not PR_SET_PDEATHSIG (the kernel's "signal me when my parent dies"):

- the death signal follows the *thread* that forked the child, not the process, so a child
  started from any thread but the main one would be stopped when that thread ends;
- it is set after the fork, so a parent that dies before the child sets it goes unnoticed
  unless the child also compares getppid() with the parent it expected; set in a
  `preexec_fn` instead, it runs between fork and exec of a threaded parent, where Python
  documents deadlocks;
- it is Linux only, and has no second step for a child that hangs on SIGTERM.

End-of-file has none of these: it belongs to the last holder of the write end (the process,
not a thread), it is already there if the parent died before the child looked, it works on
every POSIX system, and the watchdog escalates to SIGKILL itself.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time

MODULE = "sutra.stack.lifeline"


class Lifeline:
    """The parent's side: a pipe whose write end lives exactly as long as this process.

    Both ends are close-on-exec, and `subprocess` closes every other descriptor in a child,
    so only the read end reaches a child (through `pass_fds`), and no child keeps another
    child's lifeline open.
    """

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()

    def command(self, module: str, grace: float) -> list[str]:
        """`python -u -m MODULE`, watched; start it with `pass_fds=(self.read_fd,)`."""
        return [sys.executable, "-u", "-m", MODULE, str(self.read_fd), str(grace), module]

    def close(self) -> None:
        """Cut the line: every child still running stops itself."""
        for fd in (self.write_fd, self.read_fd):
            os.close(fd)


def watch(fd: int, grace: float) -> None:
    """Once the parent's end closes: SIGTERM this process, then SIGKILL after `grace` s."""
    while os.read(fd, 1):  # nothing is ever written: the read returns only at end-of-file
        pass
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace)  # the orderly stop's whole allowance; normally the process is gone first
    os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str]) -> None:
    fd, grace, module = int(argv[0]), float(argv[1]), argv[2]
    threading.Thread(target=watch, args=(fd, grace), name="lifeline", daemon=True).start()
    sys.argv = [module]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
