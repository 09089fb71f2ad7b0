"""Helpers of the dashboard tests: real processes on 127.0.0.1 and a real WebSocket client."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.sync.client import ClientConnection, connect

from sutra.common.testing import HttpService, free_port, run_http_service
from sutra.control.auth import SUBPROTOCOL, token_protocol
from sutra.stack.testing import UpStack, run_up

TOKEN = "test-admin-token-0123456789abcdef"
INTERVAL = "0.5"  # seconds between pushes: short, so the tests wait little


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
    url: str,
    token: str | None = TOKEN,
    *,
    header: bool = False,
    origin: str | None = None,
    host: str | None = None,
) -> Iterator[ClientConnection]:
    """The dashboard's WebSocket, authenticated as the page does (subprotocol) or by header.

    `origin` is sent as a browser sends it; `host` is the Host header (the name a browser
    would have looked up), while the connection still goes to `url`'s address.
    """
    parts = urlsplit(url)
    protocols = [SUBPROTOCOL]
    headers = {}
    if token is not None and header:
        headers["Authorization"] = f"Bearer {token}"
    elif token is not None:
        protocols.append(token_protocol(token))
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    with connect(
        f"ws://{host or parts.netloc}/ws",
        sock=sock,
        origin=origin,  # type: ignore[arg-type]
        subprotocols=protocols,  # type: ignore[arg-type]
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


def run_stack(folder: Path) -> contextlib.AbstractContextManager[UpStack]:
    """`sutra up` on free ports with the demo knowledge, the admin token and short pushes."""
    return run_up(folder, {"SUTRA_CONTROL_TOKEN": TOKEN, "SUTRA_CONTROL_INTERVAL": INTERVAL})
