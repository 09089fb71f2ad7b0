"""The admin token: `Authorization: Bearer <token>` on HTTP; on the WebSocket, the same header
or, from a browser, a `Sec-WebSocket-Protocol` entry `bearer.<base64url(token)>`.

A browser's WebSocket cannot send an Authorization header, and a token in the query string
would be written to every access log on the way (ingress, proxies) and kept in the browser's
history; the subprotocol header is neither. The server answers with the plain protocol name
`sutra-control.v1`, never echoing the token. Tokens are compared with `hmac.compare_digest`.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from fastapi import HTTPException, Request, WebSocket

from sutra.control.metrics import ControlMetrics

SUBPROTOCOL = "sutra-control.v1"
TOKEN_PROTOCOL_PREFIX = "bearer."
REFUSED = "missing or wrong admin token: send Authorization: Bearer <SUTRA_CONTROL_TOKEN>"


def token_protocol(token: str) -> str:
    """The subprotocol entry that carries `token` (base64url without padding: header-safe)."""
    encoded = base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")
    return TOKEN_PROTOCOL_PREFIX + encoded


def _decode_protocol(entry: str) -> str | None:
    encoded = entry[len(TOKEN_PROTOCOL_PREFIX) :]
    try:
        return base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, ValueError):
        return None


def bearer(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def offered_protocols(websocket: WebSocket) -> list[str]:
    header = websocket.headers.get("sec-websocket-protocol", "")
    return [p.strip() for p in header.split(",") if p.strip()]


class Guard:
    """Checks the admin token; with none configured everything passes (loopback only)."""

    def __init__(self, token: str | None, metrics: ControlMetrics) -> None:
        self._token = token.encode() if token else None
        self.metrics = metrics

    @property
    def required(self) -> bool:
        return self._token is not None

    def accepts(self, given: str | None) -> bool:
        if self._token is None:
            return True
        if not given:
            return False
        return hmac.compare_digest(given.encode(), self._token)

    async def http(self, request: Request) -> None:
        """FastAPI dependency: 401 with `WWW-Authenticate: Bearer` unless the token matches."""
        if not self.accepts(bearer(request.headers.get("authorization"))):
            self.metrics.refused.labels("http").inc()
            raise HTTPException(401, REFUSED, headers={"WWW-Authenticate": "Bearer"})

    def websocket(self, websocket: WebSocket) -> bool:
        """Whether to accept this WebSocket (header or subprotocol token)."""
        if not self.required:
            return True
        candidates = [bearer(websocket.headers.get("authorization"))]
        candidates += [
            _decode_protocol(p)
            for p in offered_protocols(websocket)
            if p.startswith(TOKEN_PROTOCOL_PREFIX)
        ]
        if any(self.accepts(c) for c in candidates if c):
            return True
        self.metrics.refused.labels("websocket").inc()
        return False
