"""Taking an upload in: its size limit, its content type, and its bytes onto disk.

An upload can be far larger than any other request (SUTRA_JOBS_MAX_UPLOAD_BYTES against
SUTRA_MAX_BODY_BYTES), so the app-wide `BodyLimitMiddleware`, which buffers a body without
Content-Length in memory, lets it through (`BodyLimitExceptUploads`) and the upload route
streams it to a file instead, counting bytes and lines as they come and refusing with 413 at
the first byte over the limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from sutra.api.middleware import BodyLimitMiddleware
from sutra.common.http import ServiceError

UPLOAD_PATH = "/learn/jobs"
CONTENT_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")


class BodyLimitExceptUploads:
    """`BodyLimitMiddleware` for every request but POST /learn/jobs, bounded by its route."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.limited = BodyLimitMiddleware(app, max_bytes=max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == UPLOAD_PATH:
            await self.app(scope, receive, send)
        else:
            await self.limited(scope, receive, send)


def too_large(limit: int) -> ServiceError:
    return ServiceError(
        413,
        "payload_too_large",
        f"upload is larger than {limit} bytes (SUTRA_JOBS_MAX_UPLOAD_BYTES)",
        field="body",
    )


def check_content_type(request: Request) -> None:
    """415 unless the body is declared NDJSON."""
    declared = request.headers.get("content-type", "")
    media = declared.split(";")[0].strip().lower()
    if media not in CONTENT_TYPES:
        raise ServiceError(
            415,
            "unsupported_media_type",
            f"content-type {media or '(none)'} is not accepted: send NDJSON, one JSON object "
            f"per line, as {CONTENT_TYPES[0]}",
            field="content-type",
        )


def check_declared_length(request: Request, limit: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise too_large(limit)


@dataclass(frozen=True)
class Spooled:
    path: Path
    bytes: int
    lines: int


async def spool(request: Request, path: Path, limit: int) -> Spooled:
    """Write the body to `path` (flushed to the OS; the queue makes it durable)."""
    size = newlines = 0
    last = b"\n"
    try:
        with open(path, "wb") as out:
            async for chunk in request.stream():
                if not chunk:
                    continue
                size += len(chunk)
                if size > limit:
                    raise too_large(limit)
                out.write(chunk)
                newlines += chunk.count(b"\n")
                last = chunk[-1:]
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    lines = newlines + (0 if last == b"\n" else 1)
    return Spooled(path, size, lines)


def discard(path: Path) -> None:
    path.unlink(missing_ok=True)
