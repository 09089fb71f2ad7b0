"""Response headers every answer of a service carries (its Content Security Policy, nosniff, ...).

An ASGI middleware rather than a per-route response: errors, 404s, static files and proxied
answers get them too. A header of the same name set by the route is replaced, so a proxied
answer can never weaken the policy.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class SecurityHeaders:
    """Sets `headers` on every HTTP response, replacing any of the same name."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        self.names = {k for k, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k not in self.names]
                message["headers"] = kept + self.headers
            await send(message)

        await self.app(scope, receive, with_headers)
