"""What a web browser may ask of the dashboard, whatever site it is showing.

Listening on 127.0.0.1 does not keep other websites out: a page the operator opens elsewhere
runs in a browser on this machine. Two holes, two checks:

- DNS rebinding: a hostile name that resolves to 127.0.0.1 makes the dashboard that site's own
  origin, so the browser lets its script read `/api/*`. The request's Host is then the hostile
  name. Without a token (nothing else guards the data) only the loopback names are answered:
  Host 127.0.0.1, localhost or [::1], with any port (`LoopbackHosts`).
- Cross-site WebSocket hijacking: the same-origin policy and CORS do not apply to WebSockets;
  any page may open `ws://127.0.0.1:9000/ws`. Browsers always send Origin on that handshake and
  scripts cannot forge it, so a handshake whose Origin is not the dashboard's own (the same
  scheme, host and port as the request) is refused, with or without a token (`same_origin`).
  Clients other than browsers send no Origin and are not concerned.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from sutra.common.http import error_response

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HTTP_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def _host_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    """(host, port) of `host[:port]` (brackets around IPv6 literals), or None when malformed."""
    try:
        parts = urlsplit(f"//{netloc}")
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host or parts.username is not None or parts.path:
        return None
    return host, port if port is not None else _DEFAULT_PORTS.get(scheme, 0)


def request_scheme(scope: Scope, headers: Headers) -> str:
    """http or https as the browser sees it. X-Forwarded-Proto, when a TLS-terminating proxy
    sets it, is taken as it is: a page's script cannot set headers on a WebSocket handshake,
    so it cannot use it to pass another origin off as this one."""
    forwarded = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    if forwarded in ("http", "https"):
        return forwarded
    return _HTTP_SCHEME.get(scope.get("scheme", "http"), "http")


def same_origin(scope: Scope) -> bool:
    """Whether a request's Origin, if it sends one, is the dashboard's own origin."""
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin.strip())
    if parts.scheme not in _DEFAULT_PORTS or parts.path or parts.query:
        return False  # "null" (a sandboxed or file: page), or not an origin at all
    scheme = request_scheme(scope, headers)
    theirs = _host_port(parts.netloc, parts.scheme)
    ours = _host_port(headers.get("host", ""), scheme)
    return theirs is not None and parts.scheme == scheme and theirs == ours


class LoopbackHosts:
    """Answers only requests addressed to a loopback name (HTTP and WebSocket alike); any other
    Host is a 400 naming the header, before a route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            parsed = _host_port(Headers(scope=scope).get("host", ""), "http")
            if parsed is None or parsed[0] not in LOOPBACK_NAMES:
                refused = error_response(
                    400,
                    "bad_request",
                    "Host: without SUTRA_CONTROL_TOKEN the dashboard answers only to "
                    "127.0.0.1, localhost or [::1]",
                    field="Host",
                )
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)
