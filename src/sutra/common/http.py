"""One error body for every HTTP service: `{"error": {status, code, message, field?, dependency?}}`.

Clients (the UI, the API's own callers, the API calling hybrid) read one shape whatever went
wrong, and the message always names what is at fault: the request field for a 4xx, the
dependency for a 503. Handlers raise `ServiceError`; validation errors and stray exceptions are
converted here, so no traceback ever reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("sutra.http")


class ErrorDetail(BaseModel):
    status: int
    code: str
    message: str
    field: str | None = None
    dependency: str | None = None
    retry_after: int | None = Field(
        None, description="seconds to wait before retrying, as in the Retry-After header"
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class ServiceError(Exception):
    """An error a handler reports to the client as it is."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        dependency: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.dependency = dependency
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        return error_response(
            self.status,
            self.code,
            self.message,
            field=self.field,
            dependency=self.dependency,
            retry_after=self.retry_after,
        )


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    dependency: str | None = None,
    retry_after: float | None = None,
) -> JSONResponse:
    seconds = max(1, round(retry_after)) if retry_after is not None else None
    body = ErrorBody(
        error=ErrorDetail(
            status=status,
            code=code,
            message=message,
            field=field,
            dependency=dependency,
            retry_after=seconds,
        )
    )
    headers = {"Retry-After": str(seconds)} if seconds is not None else None
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A validation error's location as a client writes it: `items.1.text`, `concept_id`."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "path", "query", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


Explain = Callable[[str, dict[str, Any]], str | None]


def validation_error(exc: RequestValidationError, explain: Explain | None = None) -> JSONResponse:
    """422 naming the first invalid field; `explain(field, error)` may word the message."""
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    # A body that is not JSON at all is located at ("body", <offset>): name the body.
    field = field_path(() if first.get("type") == "json_invalid" else first.get("loc", ()))
    message = (explain and explain(field, first)) or str(first.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    return error_response(422, "invalid_request", f"{field}: {message}", field=field)


def install_error_handlers(app: FastAPI, explain: Explain | None = None) -> None:
    """Route every error through the one body shape."""

    @app.exception_handler(ServiceError)
    async def _service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(exc, explain)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        response = error_response(exc.status_code, code, message)
        response.headers.update(exc.headers or {})  # e.g. `Allow` on a 405 (RFC 9110)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error(
            "unhandled error",
            extra={"path": request.url.path, "error": f"{type(exc).__name__}: {exc}"},
        )
        return error_response(500, "internal", "internal error; the server log has the details")


#: For `responses=` in route declarations, so OpenAPI documents the error shape.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in {
        422: "A request field is invalid; `error.field` names it.",
        429: "Rate limited; retry after the `Retry-After` header's seconds.",
        503: "A dependency is unavailable; `error.dependency` names it.",
        504: "A dependency did not answer in time; `error.dependency` names it.",
    }.items()
}


# The three failures every service maps the same way (api and hybrid, and the api's view of
# hybrid): a request field is invalid (422, from `validation_error`), a dependency cannot be
# used (503), a dependency did not answer within the request's deadline (504).


def unavailable(
    dependency: str, message: str, *, code: str = "unavailable", retry_after: float | None = 1.0
) -> ServiceError:
    """503 naming the dependency that cannot be used now; retry after `retry_after` s."""
    return ServiceError(503, code, message, dependency=dependency, retry_after=retry_after)


def deadline_exceeded(message: str, *, dependency: str | None = None) -> ServiceError:
    """504: the request's deadline passed; `dependency` is the one that did not answer."""
    if not message.startswith("deadline exceeded"):
        message = f"deadline exceeded: {message}"
    return ServiceError(504, "deadline_exceeded", message, dependency=dependency)
