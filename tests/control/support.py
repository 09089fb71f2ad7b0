"""Helpers of the dashboard tests: real processes on 127.0.0.1 and a real WebSocket client."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

from sutra.common.testing import HttpService, free_port, run_http_service
from sutra.control.auth import SUBPROTOCOL, token_protocol

TOKEN = "test-admin-token-0123456789abcdef"
SUTRA = str(Path(sys.executable).parent / "sutra")
INTERVAL = "0.5"  # seconds between pushes: short, so the tests wait little


def dead_url() -> str:
    """An http URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


def poll(check: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.05) -> Any:
    """Call `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s (last: {last!r})")
        time.sleep(interval)


@contextlib.contextmanager
def run_control(env: Mapping[str, str], log_dir: Path) -> Iterator[HttpService]:
    port = free_port()
    child_env = {
        "SUTRA_CONTROL_HOST": "127.0.0.1",
        "SUTRA_CONTROL_PORT": str(port),
        "SUTRA_CONTROL_INTERVAL": INTERVAL,
        "SUTRA_CONTROL_TIMEOUT": "0.4",
        **env,
    }
    with run_http_service(
        "sutra.control", env=child_env, port=port, log_path=log_dir / f"control-{port}.log"
    ) as service:
        yield service


@contextlib.contextmanager
def websocket(
    url: str, token: str | None = TOKEN, *, header: bool = False
) -> Iterator[ClientConnection]:
    """The dashboard's WebSocket, authenticated as the page does (subprotocol) or by header."""
    ws_url = url.replace("http://", "ws://") + "/ws"
    protocols = [SUBPROTOCOL]
    headers = {}
    if token is not None and header:
        headers["Authorization"] = f"Bearer {token}"
    elif token is not None:
        protocols.append(token_protocol(token))
    with connect(
        ws_url,
        subprotocols=protocols,
        additional_headers=headers,
        open_timeout=5,  # type: ignore[arg-type]
    ) as ws:
        yield ws


def next_push(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def push_until(
    ws: ClientConnection, check: Callable[[dict[str, Any]], bool], *, timeout: float, what: str
) -> dict[str, Any]:
    """Read pushes until one passes `check`; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        last = next_push(ws)
        if check(last):
            return last
    raise AssertionError(f"no push with {what} within {timeout} s; last: {last}")


@dataclass
class Stack:
    """`sutra up` (what `make run` runs) on free ports, with the admin token set."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    data_dir: Path
    log_path: Path

    def url(self, variable: str) -> str:
        return f"http://127.0.0.1:{self.env[variable]}"

    @property
    def control(self) -> str:
        return self.url("SUTRA_CONTROL_PORT")

    @property
    def api(self) -> str:
        return self.url("SUTRA_API_PORT")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextlib.contextmanager
def run_stack(folder: Path) -> Iterator[Stack]:
    from sutra.stack.services import installed

    env = dict(os.environ)
    for service in installed():
        for variable in service.ports(env):
            env[variable] = str(free_port())
    env.update(SUTRA_CONTROL_TOKEN=TOKEN, SUTRA_CONTROL_INTERVAL=INTERVAL)
    data_dir = folder / "data"
    log_path = folder / "sutra-up.log"
    # A file, not a pipe: the stack's log must never block on a full pipe.
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [SUTRA, "up", "--data-dir", str(data_dir)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    stack = Stack(process, env, data_dir, log_path)
    try:
        poll(
            lambda: "Sutra is up:" in stack.output() or process.poll() is not None,
            timeout=180,
            what="sutra up ready",
            interval=0.1,
        )
        assert process.poll() is None, stack.output()[-3000:]
        yield stack
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
