"""The error statuses the api's routes document, each with the one error body."""

from __future__ import annotations

from typing import Any

from sutra.common.http import ERROR_RESPONSES, ErrorBody

_ERRORS = {
    400: "The body is not JSON.",
    404: "Not found; `error.message` says what.",
    413: "The request body is over the size limit.",
    422: "A request field is invalid; `error.field` names it.",
    429: "Rate limited; retry after the `Retry-After` header's seconds.",
    503: "A dependency is unavailable; `error.dependency` names it; see `Retry-After`.",
    504: "A dependency did not answer in time; `error.dependency` names it.",
}

#: What a route that calls hybrid with a JSON body can answer besides 2xx.
BODY_ERRORS = (400, 413, 422, 429, 503, 504)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a route can answer."""
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        base = ERROR_RESPONSES.get(code, {"model": ErrorBody})
        out[code] = {**base, "description": _ERRORS[code]}
    return out
