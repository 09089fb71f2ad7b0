"""The response headers of the UI, in one place: the Python server sends them, the bundle's
`_headers` file tells a CDN to send them, and the nginx test checks nginx sends the same.

The page has no inline script or style, so the Content Security Policy can forbid both; the
only origin besides the page's own that it may talk to is the API's, when that is elsewhere.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# Hashed asset names change with their content, so a cached copy is never stale.
IMMUTABLE = "public, max-age=31536000, immutable"
# index.html and config.js keep their names: revalidate every time.
NO_CACHE = "no-cache"
ASSETS_DIR = "assets"


def api_origin(api_base: str) -> str | None:
    """The origin of an absolute API base URL (None for a path on the page's own origin)."""
    parts = urlsplit(api_base)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def content_security_policy(api_base: str = "/api") -> str:
    origin = api_origin(api_base)
    connect = "'self'" + (f" {origin}" if origin else "")
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {connect}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(api_base: str = "/api") -> dict[str, str]:
    """Sent with every response, errors included."""
    return {
        "Content-Security-Policy": content_security_policy(api_base),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }


def cache_control(path: str) -> str:
    """Cache-Control of a bundle file by its path relative to the bundle root."""
    return IMMUTABLE if path.startswith(f"{ASSETS_DIR}/") else NO_CACHE
