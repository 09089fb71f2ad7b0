"""`sutra up` (what `make run` runs) as a test fixture: every service on a free port.

    with run_up(tmp_path, {"SUTRA_CONTROL_TOKEN": token}) as stack:
        httpx.get(stack.url("SUTRA_API_PORT") + "/health")

The block starts once `sutra up` has announced the stack; on exit it gets SIGTERM (then
SIGKILL), which stops every service. Its output goes to a file, never a pipe that could fill.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sutra.common.testing import free_port, poll
from sutra.stack.services import installed
from sutra.stack.status import described, member, read_state

READY_LINE = "Sutra is up:"


@dataclass
class UpStack:
    process: subprocess.Popen[bytes]
    env: dict[str, str]  # what the stack was started with, its ports included
    data_dir: Path
    log_path: Path

    def url(self, port_variable: str) -> str:
        return f"http://127.0.0.1:{self.env[port_variable]}"

    @property
    def api(self) -> str:
        return self.url("SUTRA_API_PORT")

    @property
    def control(self) -> str:
        return self.url("SUTRA_CONTROL_PORT")

    @property
    def client(self) -> str:
        return self.url("SUTRA_CLIENT_PORT")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def said(self, name: str) -> list[str]:
        """What member `name` printed (its `name | text` lines), in order."""
        lines = (line.partition(" | ") for line in self.output().splitlines())
        return [text for who, _, text in lines if who.strip() == name]

    def state(self) -> dict[str, Any]:
        """The stack's state as `sutra status --json` prints it."""
        state = read_state(self.data_dir)
        assert state is not None, "sutra up wrote no state file"
        return described(state)

    def member(self, name: str) -> dict[str, Any]:
        """One member's entry in `state()`: pid, state, restarts, uptime_seconds, url."""
        return member(self.state(), name)

    def stop(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                return self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait()


@contextlib.contextmanager
def run_up(
    folder: Path,
    env: Mapping[str, str] | None = None,
    *,
    demo: bool = True,
    timeout: float = 180.0,
    args: Sequence[str] = (),
) -> Iterator[UpStack]:
    """`sutra up --data-dir FOLDER/data [ARGS]` with every port free and `env` added."""
    child_env = dict(os.environ)
    for service in installed():
        for variable in service.ports(child_env):
            child_env[variable] = str(free_port())
    child_env.update(env or {})
    data_dir = folder / "data"
    log_path = folder / "sutra-up.log"
    command = [sys.executable, "-m", "sutra.cli", "up", "--data-dir", str(data_dir), *args]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command if demo else [*command, "--no-demo"],
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack = UpStack(process, child_env, data_dir, log_path)
    try:
        poll(
            lambda: READY_LINE in stack.output() or process.poll() is not None,
            timeout=timeout,
            what="sutra up ready",
            interval=0.1,
        )
        if process.poll() is not None:
            raise AssertionError("sutra up did not start:\n" + stack.output()[-3000:])
        yield stack
    finally:
        stack.stop()
